// A click anywhere on a request row opens it, as its path link does (links and buttons inside keep their own).
export function initRows() {
  document.addEventListener("click", (event) => {
    const row = event.target.closest("#rows tr.row");
    if (!row || event.target.closest("a, button, input, label") || getSelection().toString()) return;
    row.querySelector("a.open")?.click();
  });
}
