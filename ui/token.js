/**
 * The token the page sends: pasted, or minted by a hub run with --dev. It lives in the page's
 * memory (the textarea); only when the user asks does it go to sessionStorage, which this tab alone
 * reads and which is gone when the tab closes.
 */
import { byId, lines, setStatus } from "./dom.js";
import { uiEndpoint } from "./hub-url.js";

const STORAGE_KEY = "quicksilver.token";

/** Wires the token section; returns `currentToken()`, the token to send or `undefined`. */
export function setUpToken(hubUrl) {
  const field = byId("token");
  const remember = byId("token-remember");
  const devButton = byId("dev-token");
  const status = byId("token-status");

  const stored = readStored();
  if (stored) {
    field.value = stored;
    remember.checked = true;
  }
  const persist = () => {
    try {
      if (remember.checked && field.value.trim() !== "")
        sessionStorage.setItem(STORAGE_KEY, field.value.trim());
      else sessionStorage.removeItem(STORAGE_KEY);
    } catch {
      // Storage refused (a privacy setting): the token stays in memory, as by default.
    }
  };
  field.addEventListener("input", persist);
  remember.addEventListener("change", persist);

  devButton.addEventListener("click", async () => {
    setStatus(status, "asking the hub for a development token…");
    try {
      const token = await mintDevToken(hubUrl);
      if (token === undefined) {
        hideDevToken();
        setStatus(
          status,
          "this hub does not mint development tokens (it mints them only with --dev)",
          "error",
        );
        return;
      }
      field.value = token;
      persist();
      setStatus(status, "development token generated", "ok");
    } catch (error) {
      setStatus(status, `no development token: ${error.message}`, "error");
    }
  });

  return {
    currentToken: () => {
      const token = field.value.trim();
      return token === "" ? undefined : token;
    },
    hideDevToken,
  };
}

/** Hides what only a hub run with --dev can do. */
function hideDevToken() {
  byId("dev-token").classList.add("hidden");
  byId("dev-token-grants").classList.add("hidden");
}

function readStored() {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

/** Asks the hub for a token with the grants the form lists; `undefined` when it does not mint any. */
async function mintDevToken(hubUrl) {
  const body = { publish: lines(byId("dev-publish")), subscribe: lines(byId("dev-subscribe")) };
  const payload = byId("dev-payload").value.trim();
  if (payload !== "") {
    try {
      body.payload = JSON.parse(payload);
    } catch {
      throw new Error("the payload is not JSON");
    }
  }
  const response = await fetch(uiEndpoint(hubUrl, "dev-token"), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`the hub answered ${response.status}`);
  const { token } = await response.json();
  if (typeof token !== "string") throw new Error("the hub's answer has no token");
  return token;
}
