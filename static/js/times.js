// Relative times ("12 s ago") for <time data-relative>, refreshed as time passes and rows arrive.
const units = [["d", 86400], ["h", 3600], ["min", 60], ["s", 1]];

function relative(date) {
  const seconds = Math.round((Date.now() - date.getTime()) / 1000);
  const future = seconds < 0;
  const magnitude = Math.abs(seconds);
  if (magnitude < 2) return "just now";
  for (const [unit, size] of units) {
    if (magnitude >= size) {
      // Rounded, not floored: a 7-day bin a few seconds old expires "in 7 d", not "in 6 d".
      const amount = Math.round(magnitude / size);
      return future ? `in ${amount} ${unit}` : `${amount} ${unit} ago`;
    }
  }
  return "just now";
}

function refresh(root = document) {
  for (const element of root.querySelectorAll("time[data-relative]")) {
    const date = new Date(element.getAttribute("datetime"));
    if (Number.isNaN(date.getTime())) continue;
    if (!element.title) element.title = date.toISOString();
    element.textContent = relative(date);
  }
}

export function initTimes() {
  refresh();
  setInterval(refresh, 5000);
  document.addEventListener("htmx:afterSettle", (event) => refresh(event.target));
}
