/**
 * The hub's debug page: subscribe, publish, watch presence and the hub's state, from a browser,
 * with no build step. Each panel is a module; this one finds the hub and wires them.
 */
import { byId } from "./dom.js";
import { setUpHubPanel } from "./hub-panel.js";
import { hubUrlOf } from "./hub-url.js";
import { setUpPresencePanel } from "./presence-panel.js";
import { setUpPublishPanel } from "./publish-panel.js";
import { setUpSubscribePanel } from "./subscribe-panel.js";
import { setUpToken } from "./token.js";

const hubUrl = hubUrlOf(location.href);
byId("hub-url").textContent = hubUrl;
const { currentToken, hideDevToken } = setUpToken(hubUrl);
setUpSubscribePanel(hubUrl, currentToken);
setUpPublishPanel(hubUrl, currentToken);
setUpPresencePanel(hubUrl, currentToken);
setUpHubPanel(hubUrl, currentToken, (facts) => {
  // A hub that says it is not in development mode mints no token: hide the button.
  if (facts.dev === false) hideDevToken();
});
document.documentElement.dataset.ready = "true";
