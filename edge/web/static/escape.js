// Text from the config (station names, camera ids) is escaped before it goes into HTML.
"use strict";
const HTML_ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const esc = value => String(value).replace(/[&<>"']/g, c => HTML_ENTITIES[c]);
