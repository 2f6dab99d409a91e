// Where JavaScript runs, the overview refreshes itself; without it, reload by hand.
"use strict";
window.setTimeout(function () { window.location.reload(); }, 30000);
