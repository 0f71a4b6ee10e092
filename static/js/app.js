// The dashboard's behaviour, as small modules: the Content-Security-Policy forbids inline scripts.
import { initCopy } from "./copy.js";
import { initKeys } from "./keys.js";
import { initLive } from "./live.js";
import { initNewest } from "./newest.js";
import { initNotify } from "./notify.js";
import { initRecentBins } from "./recent.js";
import { initRemember } from "./remember.js";
import { initReveal } from "./reveal.js";
import { initRows } from "./rows.js";
import { initScreens } from "./screens.js";
import { initTabs } from "./tabs.js";
import { initTimes } from "./times.js";
import { initUnseen } from "./unseen.js";

initRecentBins();
initCopy();
initTabs();
initKeys();
initRows();
initScreens();
initNewest();
initNotify();
initUnseen();
initTimes();
initLive();
initRemember();
initReveal();
