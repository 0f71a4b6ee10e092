// The live list: connection state, the resume cursor, and removals announced by the server.
export function initLive() {
  const list = document.querySelector("[sse-connect]");
  if (!list) return;
  const indicator = document.getElementById("live-indicator");
  const show = (state, text) => {
    if (!indicator) return;
    indicator.dataset.state = state;
    indicator.textContent = text;
  };
  list.addEventListener("htmx:sseOpen", () => show("live", "live"));
  list.addEventListener("htmx:sseError", () => show("reconnecting", "reconnecting…"));
  list.addEventListener("htmx:sseMessage", (event) => {
    // Keep the resume point in the URL too: if the browser gives up and htmx opens a new
    // EventSource, that one carries no Last-Event-ID, but it does carry ?after=.
    const id = event.detail && event.detail.lastEventId;
    if (id && /^\d+$/.test(id)) {
      const url = new URL(list.getAttribute("sse-connect"), location.href);
      url.searchParams.set("after", id);
      list.setAttribute("sse-connect", url.pathname + url.search);
    }
    for (const marker of document.querySelectorAll("template.live-remove")) {
      for (const id of marker.dataset.ids.split(" ")) {
        const element = document.getElementById(id);
        if (element && element.classList.contains("request")) {
          element.replaceChildren(Object.assign(document.createElement("p"), {
            className: "muted placeholder", textContent: "This request was deleted.",
          }));
        } else if (element) {
          element.remove();
        }
      }
      marker.remove();
    }
  });
}
