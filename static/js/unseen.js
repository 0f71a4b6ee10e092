// The tab's title counts the requests that arrived while the tab was in the background.
export function initUnseen() {
  const rows = document.getElementById("rows");
  if (!rows) return;
  const title = document.title;
  let unseen = 0;
  const known = new Set([...rows.querySelectorAll("tr.row")].map((row) => row.id));
  document.addEventListener("htmx:sseMessage", () => {
    for (const row of rows.querySelectorAll("tr.row")) {
      if (known.has(row.id)) continue;
      known.add(row.id);
      if (document.hidden) unseen += 1;
    }
    document.title = unseen ? `(${unseen}) ${title}` : title;
  });
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) return;
    unseen = 0;
    document.title = title;
  });
}
