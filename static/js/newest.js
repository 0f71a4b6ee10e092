// "Open newest automatically": each request that arrives live is opened at once. The choice is
// remembered by this browser.
const KEY = "webhook-inspector.open-newest";

export function initNewest() {
  const toggle = document.getElementById("open-newest");
  const rows = document.getElementById("rows");
  if (!toggle || !rows) return;
  toggle.checked = localStorage.getItem(KEY) === "on";
  toggle.addEventListener("change", () => localStorage.setItem(KEY, toggle.checked ? "on" : "off"));
  let newest = rows.querySelector("tr.row")?.id;
  document.addEventListener("htmx:sseMessage", () => {
    const first = rows.querySelector("tr.row");
    if (!first || first.id === newest) return;
    newest = first.id;
    if (toggle.checked) first.querySelector("a.open")?.click();
  });
}
