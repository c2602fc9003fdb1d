// The search page: Pagefind over the year shards listed in <bundle>/manifest.json.
//
// The newest shard is opened with its pagefind.js and the older ones are merged into it with
// Pagefind's multisite mergeIndex; each shard tags its pages with a synthetic filter
// (`shard: "2019"`, Pagefind's mergeFilter). "Best match first" is one search over all shards.
// "Newest first" cannot be one search: Pagefind sorts each shard on its own and then orders the
// merged results by score, and a sorted shard scores its pages by their rank in that shard
// (n-1 ... 0), so the shards would interleave. The unsorted search tells how many results
// each shard has (the counts of the shard filter); a page of results then asks only the shards
// it covers, newest shard first, each one sorted by date. Shards are UTC years of publication
// and the sort key is the UTC instant, so the order is exact across shards.
//
// The query lives in the URL (?q=...&section=...&year=...&tag=...&author=...&sort=relevance):
// a search can be shared, and the back button goes back to the previous one.

const PAGE_SIZE = 10;
const FILTERS = ["section", "year", "tag", "author"];
const TYPING_DELAY_MS = 300;
const SLOW_MS = 400;
const SHARD = "shard"; // the synthetic filter naming the shard of a page

const form = document.getElementById("search");
if (form) {
  start(form);
}

function start(form) {
  const bundle = form.dataset.bundle;
  const base = form.dataset.base;
  const input = form.querySelector("#search-q");
  const sortSelect = form.querySelector("#search-sort");
  const filterSelects = [...form.querySelectorAll("select[data-filter]")];
  const status = document.getElementById("search-status");
  const list = document.getElementById("search-results");
  const more = document.getElementById("search-more");
  const hint = document.createElement("p");
  hint.className = "search-hint";
  hint.hidden = true;
  hint.append("Try other words or fewer filters, or browse ");
  const archiveLink = document.createElement("a");
  archiveLink.href = form.dataset.archive;
  archiveLink.textContent = "all headlines";
  hint.append(archiveLink, ".");
  status.after(hint);
  form.hidden = false;

  let runId = 0;
  let current = null; // {results, shown, state}
  let typing = false; // a burst of typing owns the history entry it created
  let typingTimer = 0;
  const ready = loadBundle(bundle);

  function setStatus(text, showHint = false) {
    status.textContent = text;
    hint.hidden = !showHint;
  }

  let engine = null;
  function openEngine() {
    engine ||= ready.then(async ({ pagefind, manifest }) => {
      const [first, ...rest] = manifest.shards;
      const instance = pagefind.createInstance({
        basePath: bundle + first.path, baseUrl: base, excerptLength: 24,
        mergeFilter: { [SHARD]: first.id },
      });
      const merges = rest.map((shard) => instance.mergeIndex(bundle + shard.path,
        { baseUrl: base, mergeFilter: { [SHARD]: shard.id } }));
      await Promise.all([instance.init(), ...merges]);
      return { instance, manifest };
    });
    return engine;
  }

  // The results of a search as {total, slice(start, end)}: relevance order as Pagefind gives
  // it, or newest first, asking each shard (sorted by date) only when a page reaches it.
  async function searchResults(state, filters) {
    const { instance, manifest } = await openEngine();
    const term = state.q || null;
    const response = await instance.search(term, { filters });
    const results = response ? response.results : [];
    if (state.sort === "relevance" && state.q) {
      return { total: results.length, slice: async (a, b) => results.slice(a, b) };
    }
    const counts = (response && response.filters && response.filters[SHARD]) || {};
    const shards = manifest.shards.map((shard) => [shard.id, counts[shard.id] || 0])
      .filter(([, count]) => count > 0);
    const sorted = new Map();
    const shardResults = (id) => {
      if (!sorted.has(id)) {
        const options = { filters: { ...filters, [SHARD]: id }, sort: { date: "desc" } };
        sorted.set(id, instance.search(term, options).then((r) => (r ? r.results : [])));
      }
      return sorted.get(id);
    };
    const total = shards.reduce((sum, [, count]) => sum + count, 0);
    const slice = async (a, b) => {
      const parts = [];
      let offset = 0;
      for (const [id, count] of shards) {
        if (offset >= b) break;
        if (offset + count > a) {
          const from = Math.max(0, a - offset);
          const to = b - offset;
          parts.push(shardResults(id).then((r) => r.slice(from, to)));
        }
        offset += count;
      }
      return (await Promise.all(parts)).flat();
    };
    return { total, slice };
  }

  function readState(params) {
    const state = {
      q: (params.get("q") || "").trim(),
      sort: params.get("sort") === "relevance" ? "relevance" : "",
    };
    for (const key of FILTERS) state[key] = params.get(key) || "";
    return state;
  }

  function formState() {
    const state = { q: input.value.trim(), sort: sortSelect.value };
    for (const select of filterSelects) state[select.dataset.filter] = select.value;
    return state;
  }

  function fillForm(state) {
    input.value = state.q;
    sortSelect.value = state.sort;
    for (const select of filterSelects) {
      const value = state[select.dataset.filter];
      if (value && ![...select.options].some((o) => o.value === value)) {
        select.add(new Option(value, value));
      }
      select.value = value;
    }
  }

  function stateUrl(state) {
    const params = new URLSearchParams();
    if (state.q) params.set("q", state.q);
    for (const key of FILTERS) if (state[key]) params.set(key, state[key]);
    if (state.sort) params.set("sort", state.sort);
    const query = params.toString();
    return location.pathname + (query ? `?${query}` : "");
  }

  function commit(push) {
    const state = formState();
    const url = stateUrl(state);
    if (url !== location.pathname + location.search) {
      history[push ? "pushState" : "replaceState"](null, "", url);
    }
    run(state);
  }

  function describe(state, count) {
    const words = state.q ? ` for “${state.q}”` : "";
    const narrowed = FILTERS.filter((key) => state[key])
      .map((key) => `${key} ${state[key]}`);
    const within = narrowed.length ? ` in ${narrowed.join(", ")}` : "";
    if (count === 0) return `No results${words}${within}.`;
    const order = state.sort === "relevance" && state.q ? "best match first" : "newest first";
    const noun = count === 1 ? "result" : "results";
    return `${count.toLocaleString()} ${noun}${words}${within}, ${order}.`;
  }

  async function run(state) {
    const id = ++runId;
    const filters = {};
    for (const key of FILTERS) if (state[key]) filters[key] = state[key];
    if (!state.q && !Object.keys(filters).length) {
      current = null;
      list.replaceChildren();
      more.hidden = true;
      setStatus("");
      return;
    }
    const slow = setTimeout(() => { if (id === runId) setStatus("Searching…"); }, SLOW_MS);
    list.setAttribute("aria-busy", "true");
    try {
      const results = await searchResults(state, filters);
      if (id !== runId) return;
      current = { results, shown: 0, state };
      list.replaceChildren();
      await showMore(id, false);
    } catch (error) {
      if (id !== runId) return;
      console.error(error);
      current = null;
      list.replaceChildren();
      more.hidden = true;
      setStatus("Search is not available right now.", true);
    } finally {
      clearTimeout(slow);
      if (id === runId) list.removeAttribute("aria-busy");
    }
  }

  async function showMore(id, moveFocus) {
    const { results, shown, state } = current;
    const batch = await results.slice(shown, shown + PAGE_SIZE);
    const pages = await Promise.all(batch.map((result) => result.data()));
    if (id !== runId) return;
    const items = pages.map(renderResult);
    list.append(...items);
    current.shown += items.length;
    more.hidden = current.shown >= results.total;
    let text = describe(state, results.total);
    if (results.total > current.shown) {
      text += ` Showing ${current.shown.toLocaleString()}.`;
    }
    setStatus(text, results.total === 0);
    if (moveFocus && items[0]) items[0].querySelector("a").focus();
  }

  function renderResult(page) {
    const meta = page.meta || {};
    const item = document.createElement("li");
    item.className = "search-result";
    const heading = document.createElement("h2");
    heading.className = "search-result-title";
    const link = document.createElement("a");
    link.href = page.url;
    link.textContent = meta.title || page.url;
    heading.append(link);
    item.append(heading);
    const line = document.createElement("p");
    line.className = "search-result-meta";
    if (meta.date) {
      const time = document.createElement("time");
      if (meta.datetime) time.dateTime = meta.datetime;
      time.textContent = meta.date;
      line.append(time);
    }
    if (meta.section) {
      if (line.childNodes.length) {
        const dot = document.createElement("span");
        dot.setAttribute("aria-hidden", "true");
        dot.textContent = " · ";
        line.append(dot);
      }
      const section = document.createElement("span");
      section.className = "search-result-section";
      section.textContent = meta.section;
      line.append(section);
    }
    if (line.childNodes.length) item.append(line);
    if (page.excerpt) {
      const excerpt = document.createElement("p");
      excerpt.className = "search-result-excerpt";
      appendExcerpt(excerpt, page.excerpt);
      item.append(excerpt);
    }
    return item;
  }

  async function loadFilterOptions() {
    const { instance } = await openEngine();
    const all = await instance.filters();
    for (const select of filterSelects) {
      const key = select.dataset.filter;
      const counts = all[key] || {};
      const names = Object.keys(counts).sort(key === "year"
        ? (a, b) => b.localeCompare(a, undefined, { numeric: true })
        : (a, b) => a.localeCompare(b, undefined, { sensitivity: "base" }));
      const chosen = select.value;
      const keep = select.options[0];
      select.replaceChildren(keep);
      for (const name of names) {
        select.add(new Option(`${name} (${counts[name].toLocaleString()})`, name));
      }
      if (chosen && !names.includes(chosen)) select.add(new Option(chosen, chosen));
      select.value = chosen;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(typingTimer);
    typing = false;
    commit(true);
  });
  input.addEventListener("input", () => {
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => {
      commit(!typing);
      typing = true;
    }, TYPING_DELAY_MS);
  });
  for (const select of [...filterSelects, sortSelect]) {
    select.addEventListener("change", () => {
      clearTimeout(typingTimer);
      typing = false;
      commit(true);
    });
  }
  more.addEventListener("click", () => {
    if (current) showMore(runId, true);
  });
  window.addEventListener("popstate", () => {
    clearTimeout(typingTimer);
    typing = false;
    const state = readState(new URLSearchParams(location.search));
    fillForm(state);
    run(state);
  });

  const initial = readState(new URLSearchParams(location.search));
  fillForm(initial);
  ready.then(({ manifest }) => {
    if (!manifest.shards.length) {
      setStatus("The archive has no articles to search yet.", true);
      return;
    }
    loadFilterOptions().catch((error) => console.error(error));
    run(readState(new URLSearchParams(location.search)));
  }, (error) => {
    console.error(error);
    setStatus("Search is not available right now.", true);
  });
}

async function loadBundle(bundle) {
  const response = await fetch(`${bundle}manifest.json`, { cache: "no-cache" });
  if (!response.ok) throw new Error(`${bundle}manifest.json: HTTP ${response.status}`);
  const manifest = await response.json();
  if (!manifest.shards.length) return { pagefind: null, manifest };
  const pagefind = await import(`${bundle}${manifest.runtime}pagefind.js`);
  return { pagefind, manifest };
}

// Pagefind's excerpt is text with "<" and ">" escaped and the matched words in <mark>:
// rebuilt here from text nodes, so nothing in an article can become markup on this page.
function appendExcerpt(node, excerpt) {
  excerpt.split(/<mark>|<\/mark>/).forEach((part, index) => {
    const text = part.replace(/&lt;/g, "<").replace(/&gt;/g, ">");
    if (!text) return;
    if (index % 2) {
      const mark = document.createElement("mark");
      mark.textContent = text;
      node.append(mark);
    } else {
      node.append(text);
    }
  });
}
