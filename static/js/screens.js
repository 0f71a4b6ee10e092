// On a phone the list and the detail are two screens: opening a request or the settings shows the
// detail, "← Requests" goes back to the list. body[data-view] says which; the stylesheet does the rest.
export function initScreens() {
  if (!document.body.classList.contains("bin-page")) return;
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target && event.detail.target.id === "detail") {
      document.body.dataset.view = "detail";
      document.querySelector(".detail-pane")?.scrollTo(0, 0);
      window.scrollTo(0, 0);
    }
  });
  // The browser's own back and forward: htmx puts the page back, body attributes excepted.
  document.addEventListener("htmx:historyRestore", () => {
    document.body.dataset.view = document.querySelector("#detail article") ? "detail" : "list";
  });
  document.addEventListener("click", (event) => {
    const back = event.target.closest("[data-back]");
    if (!back) return;
    event.preventDefault();
    document.body.dataset.view = "list";
    history.replaceState(history.state, "", back.getAttribute("href"));
    document.querySelector("#rows tr.selected a.open")?.focus({ preventScroll: false });
  });
}
