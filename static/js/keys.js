// Keyboard navigation in the request list: j / ArrowDown and k / ArrowUp move, Enter opens.
function rows() {
  return [...document.querySelectorAll("#rows tr.row")];
}

function select(row) {
  for (const other of document.querySelectorAll("#rows tr.selected")) other.classList.remove("selected");
  row.classList.add("selected");
  row.scrollIntoView({ block: "nearest" });
  row.querySelector("a.open")?.focus({ preventScroll: true });
}

export function initKeys() {
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, textarea, select, [contenteditable]") || event.ctrlKey || event.metaKey || event.altKey) return;
    const all = rows();
    if (!all.length) return;
    const current = all.findIndex((row) => row.classList.contains("selected"));
    if (event.key === "j" || event.key === "ArrowDown") {
      select(all[Math.min(current + 1, all.length - 1)]);
      event.preventDefault();
    } else if (event.key === "k" || event.key === "ArrowUp") {
      select(all[Math.max(current - 1, 0)]);
      event.preventDefault();
    } else if (event.key === "Enter" && current >= 0 && !event.target.closest("a, button")) {
      all[current].querySelector("a.open")?.click();
    }
  });
  document.addEventListener("click", (event) => {
    const row = event.target.closest("#rows tr.row");
    if (row) select(row);
  });
}
