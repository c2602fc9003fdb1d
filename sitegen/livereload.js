// sitegen live reload: injected by `sitegen serve` into the HTML it serves, never written
// into output/. It listens to the server's build state (server-sent events) and
// - reloads the page once a newer build has completed (the epoch changed),
// - shows a failed build's problems over the page until the next good build.
(() => {
  "use strict";
  const script = document.currentScript;
  const pageEpoch = Number(script && script.dataset.epoch);
  const EVENTS = "/__sitegen__/events";
  const STATE = "/__sitegen__/state";
  const STYLE = `
    :host { all: initial; }
    .panel { position: fixed; inset: 0; z-index: 2147483647; overflow: auto;
      background: rgba(20, 20, 20, 0.95); color: #f5f5f5; padding: 2rem;
      font: 15px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
    h2 { color: #ff8a80; font-size: 1.25rem; margin: 0 0 1rem; }
    ul { list-style: none; margin: 0 0 1rem; padding: 0; }
    li { margin: 0 0 0.5rem; white-space: pre-wrap; word-break: break-word; }
    .where { color: #ffd180; }
    p { color: #bdbdbd; margin: 0 0 1rem; }
    button { font: inherit; padding: 0.25rem 0.75rem; cursor: pointer; }
    .badge { position: fixed; right: 0.75rem; bottom: 0.75rem; z-index: 2147483647;
      background: #263238; color: #fff; padding: 0.25rem 0.6rem; border-radius: 4px;
      font: 13px/1.4 system-ui, sans-serif; }`;
  let host = null;
  let dismissed = null;

  function root() {
    if (!host) {
      host = document.createElement("sitegen-overlay");
      host.id = "sitegen-overlay";
      host.attachShadow({ mode: "open" });
      document.documentElement.appendChild(host);
    }
    return host.shadowRoot;
  }

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function problemItem(problem) {
    const item = element("li");
    if (problem.path) {
      const where = problem.line ? `${problem.path}:${problem.line}` : problem.path;
      item.append(element("span", where, "where"), `: ${problem.message}`);
    } else {
      item.textContent = problem.message;
    }
    return item;
  }

  function render(state) {
    const shadow = root();
    shadow.replaceChildren(element("style", STYLE));
    const error = state.error;
    if (error && dismissed !== state.version) {
      const panel = element("div", null, "panel");
      panel.setAttribute("role", "alert");
      const list = element("ul");
      error.problems.forEach((problem) => list.append(problemItem(problem)));
      const close = element("button", "Dismiss");
      close.addEventListener("click", () => { dismissed = state.version; render(state); });
      panel.append(element("h2", `Build failed: ${error.message}`), list,
        element("p", "Still serving the last good build. Fix the problem and save: " +
          "this page reloads by itself."), close);
      shadow.append(panel);
    } else if (state.building) {
      shadow.append(element("div", "Rebuilding\u2026", "badge"));
    }
  }

  function apply(state) {
    if (!state.error && state.epoch !== pageEpoch) {
      window.location.reload();
      return;
    }
    render(state);
  }

  function poll() {  // without EventSource: ask for the state every second
    fetch(STATE, { cache: "no-store" })
      .then((response) => response.json()).then(apply)
      .catch(() => {})
      .finally(() => setTimeout(poll, 1000));
  }

  if (window.EventSource) {
    const source = new EventSource(EVENTS);
    source.onmessage = (event) => apply(JSON.parse(event.data));
  } else {
    poll();
  }
})();
