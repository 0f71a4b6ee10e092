// Optional browser notifications: with "Notify" on (remembered by this browser), each request that
// arrives while the tab is in the background raises one, naming its method and path.
const KEY = "webhook-inspector.notify";

export function initNotify() {
  const toggle = document.getElementById("notify");
  const rows = document.getElementById("rows");
  if (!toggle || !rows) return;
  if (!("Notification" in window)) {
    toggle.closest("label").hidden = true;
    return;
  }
  toggle.checked = localStorage.getItem(KEY) === "on" && Notification.permission === "granted";
  toggle.addEventListener("change", async () => {
    if (toggle.checked && Notification.permission !== "granted") {
      toggle.checked = (await Notification.requestPermission()) === "granted";
    }
    localStorage.setItem(KEY, toggle.checked ? "on" : "off");
  });
  const known = new Set([...rows.querySelectorAll("tr.row")].map((row) => row.id));
  document.addEventListener("htmx:sseMessage", () => {
    for (const row of rows.querySelectorAll("tr.row")) {
      if (known.has(row.id)) continue;
      known.add(row.id);
      if (!toggle.checked || !document.hidden || Notification.permission !== "granted") continue;
      const method = row.querySelector(".method")?.textContent ?? "";
      const path = row.querySelector("a.open")?.textContent ?? "";
      // Text only: a notification renders no markup, so a hostile path stays a string.
      new Notification(`${method} ${path}`.slice(0, 200), { body: `Bin ${document.body.dataset.binId}`, tag: row.id });
    }
  });
}
