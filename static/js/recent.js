// "Your recent bins": remembered by this browser only (localStorage), shown on the home page.
const KEY = "webhook-inspector.recent-bins";
const KEEP = 12;

function load() {
  try {
    const items = JSON.parse(localStorage.getItem(KEY) || "[]");
    return Array.isArray(items) ? items.filter((item) => item && typeof item.id === "string") : [];
  } catch {
    return [];
  }
}

export function initRecentBins() {
  const binId = document.body.dataset.binId;
  if (binId) {
    const items = load().filter((item) => item.id !== binId);
    items.unshift({ id: binId, url: document.body.dataset.captureUrl || "", seen: new Date().toISOString() });
    localStorage.setItem(KEY, JSON.stringify(items.slice(0, KEEP)));
  }
  const list = document.getElementById("recent-bins");
  if (!list) return;
  const items = load();
  for (const item of items) {
    const link = document.createElement("a");
    link.href = `/bins/${encodeURIComponent(item.id)}`;
    link.textContent = item.id;
    const entry = document.createElement("li");
    entry.append(link);
    if (item.seen) {
      const when = document.createElement("time");
      when.setAttribute("datetime", item.seen);
      when.dataset.relative = "";
      entry.append(" · opened ", when);
    }
    list.append(entry);
  }
  if (items.length) list.closest("[data-recent-section]").hidden = false;
}
