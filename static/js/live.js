// The live list: connection state, the resume cursor, markers the server sends, and the end of a bin.
const NO_ACCESS = "This page can no longer read the bin: it was made private, or its share link was replaced or revoked.";

// Badges a live event updated while a refresh (below) was under way: newer than what it read.
let touched = null;

function applyMarkers() {
  // Badge updates for rows on the page; rows the page does not show are simply not there to update.
  for (const marker of document.querySelectorAll("template.live-replace")) {
    touched?.add(marker.dataset.id);
    const element = document.getElementById(marker.dataset.id);
    if (element) element.replaceWith(marker.content.cloneNode(true));
    marker.remove();
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
}

// Badge changes are live events, not part of the catch-up a stream starts with: one that happened
// between the page's rendering and its stream opening (or while it reconnected) would be lost. So
// each time the stream opens, the newest rows' badges are read afresh.
async function refreshBadges() {
  const first = document.querySelector("#rows tr.row");
  const binId = document.body.dataset.binId;
  if (!first || !binId) return;
  const before = Number(first.dataset.requestId) + 1;
  const updatedMeanwhile = new Set();
  touched = updatedMeanwhile;
  let html = null;
  try {
    const response = await fetch(`/bins/${encodeURIComponent(binId)}/rows?before=${before}`);
    if (response.ok) html = await response.text();
  } catch {
    // unreachable for now: the next reconnection refreshes again
  }
  if (touched === updatedMeanwhile) touched = null;
  if (html === null) return;
  // DOMParser's document is inert: nothing in it runs or loads.
  const fresh = new DOMParser().parseFromString(`<table><tbody>${html}</tbody></table>`, "text/html");
  for (const badge of fresh.querySelectorAll("span.sig[id], span.fwd[id]")) {
    if (updatedMeanwhile.has(badge.id)) continue;
    document.getElementById(badge.id)?.replaceWith(document.importNode(badge, true));
  }
}

// The bin's settings changed (here or in another tab or process): take the bar's facts from the page
// as this viewer would now get it, and drop rows a lowered limit deleted.
let reading = null;
async function followSettings(ended) {
  if (reading) return reading;
  reading = (async () => {
    let response;
    try {
      response = await fetch(`/bins/${encodeURIComponent(document.body.dataset.binId)}`);
    } catch {
      return;
    }
    if (response.status === 401 || response.status === 403) {
      ended(NO_ACCESS);
      return;
    }
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    const meta = fresh.getElementById("bin-meta");
    if (meta) document.getElementById("bin-meta")?.replaceWith(document.importNode(meta, true));
    // Without "Load older" the fresh page holds every request kept: rows beyond it are gone.
    if (!fresh.getElementById("more-rows")) {
      const kept = new Set([...fresh.querySelectorAll("#rows tr.row")].map((row) => row.id));
      const newestKept = fresh.querySelector("#rows tr.row");
      for (const row of document.querySelectorAll("#rows tr.row")) {
        const older = newestKept && Number(row.dataset.requestId) < Number(newestKept.dataset.requestId);
        if (older && !kept.has(row.id)) row.remove();
      }
    }
  })().finally(() => { reading = null; });
  return reading;
}

export function initLive() {
  const list = document.querySelector("[sse-connect]");
  if (!list) return;
  const indicator = document.getElementById("live-indicator");
  let source = null;
  const show = (state, text) => {
    if (!indicator) return;
    indicator.dataset.state = state;
    indicator.textContent = text;
  };
  // Without its sse-connect attribute htmx's retry timer finds nothing to reconnect to.
  const stop = (state, text) => {
    list.removeAttribute("sse-connect");
    if (source) source.close();
    show(state, text);
  };
  const banner = (text) => {
    const status = document.getElementById("bin-status");
    if (status && !status.dataset.ended) {
      status.className = "banner";
      status.setAttribute("role", "alert");
      status.dataset.ended = "gone";
      status.textContent = text;
    }
  };
  list.addEventListener("htmx:sseOpen", (event) => {
    source = event.detail.source;
    show("live", "live");
    refreshBadges();
  });
  list.addEventListener("htmx:sseError", async (event) => {
    source = event.detail.source;
    if (!list.hasAttribute("sse-connect")) return;
    show("reconnecting", "reconnecting…");
    // The browser cannot tell why a stream failed: ask whether the bin is still there for us,
    // so a deleted bin (or a revoked share link) stops the retries instead of repeating them forever.
    let status = 0;
    try {
      status = (await fetch(`/api/bins/${encodeURIComponent(document.body.dataset.binId)}`, { method: "GET" })).status;
    } catch {
      return; // the server is unreachable: keep retrying, it may come back
    }
    if (status === 404) {
      banner("This bin was deleted.");
      stop("ended", "bin deleted");
    } else if (status === 401 || status === 403) {
      banner(NO_ACCESS);
      stop("ended", "no access");
    }
  });
  list.addEventListener("htmx:sseMessage", (event) => {
    // Keep the resume point in the URL too: if the browser gives up and htmx opens a new
    // EventSource, that one carries no Last-Event-ID, but it does carry ?after=.
    const id = event.detail && event.detail.lastEventId;
    if (id && /^\d+$/.test(id) && list.hasAttribute("sse-connect")) {
      const url = new URL(list.getAttribute("sse-connect"), location.href);
      url.searchParams.set("after", id);
      list.setAttribute("sse-connect", url.pathname + url.search);
    }
    applyMarkers();
    const changed = document.querySelectorAll("template.live-bin-changed");
    if (changed.length) {
      for (const marker of changed) marker.remove();
      followSettings((text) => {
        banner(text);
        stop("ended", "no access");
      });
    }
    if (document.querySelector("#bin-status[data-ended=deleted]")) stop("ended", "bin deleted");
  });
}
