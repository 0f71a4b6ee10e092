// The dashboard's behaviour, as small modules: the Content-Security-Policy forbids inline scripts.
import { initCopy } from "./copy.js";
import { initKeys } from "./keys.js";
import { initLive } from "./live.js";
import { initRecentBins } from "./recent.js";
import { initRemember } from "./remember.js";
import { initReveal } from "./reveal.js";
import { initTabs } from "./tabs.js";
import { initTimes } from "./times.js";

initRecentBins();
initCopy();
initTabs();
initKeys();
initTimes();
initLive();
initRemember();
initReveal();
