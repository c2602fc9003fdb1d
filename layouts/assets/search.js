// The search page: Pagefind over the one site-wide bundle in <bundle> (see sitegen/search/).
//
// One index over every article, so a query finds exactly what one Pagefind index finds, with
// its scores. With words, the best match comes first; "Newest first" asks Pagefind to sort by
// the `date` sort (the UTC instant). Words in quotes are an exact phrase (Pagefind's own).
//
// The date range (from/to, the article's own calendar date) is not a Pagefind filter: the
// results sorted newest first are in date order, so the pages at the edges of the range are
// found by bisection, loading a few results' data (each one small fragment) rather than all.
//
// The query lives in the URL (?q=...&section=...&year=...&tag=...&author=...&from=...&to=...
// &sort=newest): a search can be shared, and the back button goes back to the previous one.

const PAGE_SIZE = 10;
const FILTERS = ["section", "year", "tag", "author"];
const RANGE = ["from", "to"];
const TYPING_DELAY_MS = 300;
const SLOW_MS = 400;
const DAY_MS = 86_400_000;
const MAX_OFFSET_MS = 14 * 3_600_000; // the widest UTC offset: a local date spans these around it

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
  const rangeInputs = [...form.querySelectorAll("input[data-range]")];
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
  // A site of several languages: the reader's language (the page's <html lang>, which
  // Pagefind follows), or with the "All languages" box (?languages=all) every language's index.
  const allBox = form.querySelector("#search-all-languages");
  const everyLanguage = Boolean(allBox) && new URLSearchParams(location.search).get("languages") === "all";
  if (allBox) {
    allBox.checked = everyLanguage;
    allBox.addEventListener("change", () => {
      const params = new URLSearchParams(location.search);
      if (allBox.checked) params.set("languages", "all");
      else params.delete("languages");
      const query = params.toString();
      location.assign(location.pathname + (query ? `?${query}` : ""));
    });
  }
  const ready = loadBundle(bundle, base, everyLanguage);

  function setStatus(text, showHint = false) {
    status.textContent = text;
    hint.hidden = !showHint;
  }

  function newestFirst(state) {
    return state.sort === "newest" || !state.q;
  }

  // The results of a search, in the order asked for, within the date range.
  async function searchResults(state, filters) {
    const pagefind = await ready;
    const term = state.q || null;
    const newest = newestFirst(state);
    const response = await pagefind.search(term, newest ? { filters, sort: { date: "desc" } }
      : { filters });
    let results = response ? response.results : [];
    if (state.from || state.to) {
      const byDate = newest ? results
        : ((await pagefind.search(term, { filters, sort: { date: "desc" } })) || {}).results || [];
      const inRange = await withinDates(byDate, state.from, state.to);
      results = newest ? inRange : results.filter((r) => inRange.ids.has(r.id));
    }
    return results;
  }

  function readState(params) {
    const state = {
      q: (params.get("q") || "").trim(),
      sort: params.get("sort") === "newest" ? "newest" : "",
    };
    for (const key of FILTERS) state[key] = params.get(key) || "";
    for (const key of RANGE) state[key] = isoDay(params.get(key)) || "";
    return state;
  }

  function formState() {
    const state = { q: input.value.trim(), sort: sortSelect.value };
    for (const select of filterSelects) state[select.dataset.filter] = select.value;
    for (const field of rangeInputs) state[field.dataset.range] = isoDay(field.value) || "";
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
    for (const field of rangeInputs) field.value = state[field.dataset.range];
  }

  function stateUrl(state) {
    const params = new URLSearchParams();
    if (state.q) params.set("q", state.q);
    for (const key of [...FILTERS, ...RANGE]) if (state[key]) params.set(key, state[key]);
    if (state.sort) params.set("sort", state.sort);
    if (everyLanguage) params.set("languages", "all");
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
    if (state.from) narrowed.push(`from ${state.from}`);
    if (state.to) narrowed.push(`to ${state.to}`);
    const within = narrowed.length ? ` in ${narrowed.join(", ")}` : "";
    if (count === 0) return `No results${words}${within}.`;
    const order = newestFirst(state) ? "newest first" : "best match first";
    const noun = count === 1 ? "result" : "results";
    return `${count.toLocaleString()} ${noun}${words}${within}, ${order}.`;
  }

  async function run(state) {
    const id = ++runId;
    const filters = {};
    for (const key of FILTERS) if (state[key]) filters[key] = state[key];
    if (!state.q && !Object.keys(filters).length && !state.from && !state.to) {
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
    const batch = results.slice(shown, shown + PAGE_SIZE);
    const pages = await Promise.all(batch.map(pageData));
    if (id !== runId) return;
    const items = pages.map(renderResult);
    list.append(...items);
    current.shown += items.length;
    more.hidden = current.shown >= results.length;
    let text = describe(state, results.length);
    if (results.length > current.shown) {
      text += ` Showing ${current.shown.toLocaleString()}.`;
    }
    setStatus(text, results.length === 0);
    if (moveFocus && items[0]) items[0].querySelector("a").focus();
  }

  async function loadFilterOptions() {
    const pagefind = await ready;
    const all = await pagefind.filters();
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
  for (const field of [...filterSelects, sortSelect, ...rangeInputs]) {
    field.addEventListener("change", () => {
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

  fillForm(readState(new URLSearchParams(location.search)));
  ready.then(() => {
    loadFilterOptions().catch((error) => console.error(error));
    run(readState(new URLSearchParams(location.search)));
  }, async (error) => {
    const empty = await archiveIsEmpty(bundle);
    if (!empty) console.error(error);
    setStatus(empty ? "The archive has no articles to search yet."
      : "Search is not available right now.", true);
  });
}

async function loadBundle(bundle, base, everyLanguage = false) {
  const pagefind = await import(`${bundle}pagefind.js`);
  await pagefind.options({ basePath: bundle, baseUrl: base, excerptLength: 24 });
  await pagefind.init();
  if (everyLanguage) {
    const entry = await (await fetch(`${bundle}pagefind-entry.json`)).json();
    const own = document.documentElement.lang;
    for (const language of Object.keys(entry.languages || {})) {
      if (language !== own) await pagefind.mergeIndex(bundle, { language, baseUrl: base });
    }
  }
  return pagefind;
}

// A site without articles has no bundle at all.
async function archiveIsEmpty(bundle) {
  try {
    const response = await fetch(`${bundle}pagefind-entry.json`, { method: "HEAD" });
    return response.status === 404;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- the date range

const loaded = new WeakMap(); // result -> the promise of its data: each fragment loaded once

function pageData(result) {
  if (!loaded.has(result)) loaded.set(result, result.data());
  return loaded.get(result);
}

function isoDay(text) {
  return /^\d{4}-\d{2}-\d{2}$/.test(text || "") ? text : "";
}

// The results (newest first) whose own calendar date lies in [from, to], either bound
// optional, as a list with a set of their ids.
async function withinDates(byDate, from, to) {
  const instant = async (index) => Date.parse((await pageData(byDate[index])).meta.datetime || "");
  // In newest-first order, "at or after t" holds for a first run of the results.
  const countFrom = async (t) => {
    let low = 0;
    let high = byDate.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((await instant(middle)) >= t) low = middle + 1; else high = middle;
    }
    return low;
  };
  const upper = to ? Date.parse(`${to}T00:00:00Z`) + DAY_MS : Infinity; // local day's end, in UTC
  const lower = from ? Date.parse(`${from}T00:00:00Z`) : -Infinity;
  // Surely in: instants at least MAX_OFFSET_MS inside the bounds; the edges are checked by date.
  const [outerStart, innerStart, innerEnd, outerEnd] = await Promise.all([
    countFrom(upper + MAX_OFFSET_MS), countFrom(upper - MAX_OFFSET_MS),
    countFrom(lower + MAX_OFFSET_MS), countFrom(lower - MAX_OFFSET_MS)]);
  const edge = async (index) => {
    const day = ((await pageData(byDate[index])).meta.datetime || "").slice(0, 10);
    return (!from || day >= from) && (!to || day <= to);
  };
  const keep = [];
  const check = [];
  for (let index = outerStart; index < outerEnd; index += 1) {
    if (index >= innerStart && index < innerEnd) keep.push(index);
    else check.push(index);
  }
  const checked = await Promise.all(check.map(edge));
  const chosen = new Set([...keep, ...check.filter((_, n) => checked[n])]);
  const results = byDate.filter((_, index) => chosen.has(index));
  results.ids = new Set(results.map((r) => r.id));
  return results;
}

// ---------------------------------------------------------------- one result

function renderResult(page) {
  const meta = page.meta || {};
  const item = document.createElement("li");
  item.className = "search-result headline";
  const heading = document.createElement("h2");
  heading.className = "headline-title";
  const link = document.createElement("a");
  link.href = page.url;
  link.textContent = meta.title || page.url;
  heading.append(link);
  item.append(heading);
  const line = document.createElement("p");
  line.className = "headline-meta";
  if (meta.section) {
    const section = document.createElement("span");
    section.className = "section-link search-result-section";
    section.textContent = meta.section;
    line.append(section);
  }
  if (meta.date) {
    if (line.childNodes.length) {
      const dot = document.createElement("span");
      dot.setAttribute("aria-hidden", "true");
      dot.textContent = " · ";
      line.append(dot);
    }
    const time = document.createElement("time");
    if (meta.datetime) time.dateTime = meta.datetime;
    time.textContent = meta.date;
    line.append(time);
  }
  if (line.childNodes.length) item.append(line);
  const parts = withoutHeadline(excerptParts(page.excerpt || ""), meta.title || "");
  if (parts.some((part) => part.text.trim())) {
    const excerpt = document.createElement("p");
    excerpt.className = "headline-summary search-result-excerpt";
    for (const part of parts) {
      if (part.marked) {
        const mark = document.createElement("mark");
        mark.textContent = part.text;
        excerpt.append(mark);
      } else {
        excerpt.append(part.text);
      }
    }
    item.append(excerpt);
  }
  return item;
}

// Pagefind's excerpt is text with "<", ">" and "&" escaped and the matched words in <mark>:
// read here into text parts, so nothing in an article can become markup on this page.
function excerptParts(excerpt) {
  return excerpt.split(/<mark>|<\/mark>/).map((part, index) => ({
    text: part.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, "\"")
      .replace(/&#39;/g, "'").replace(/&amp;/g, "&"),
    marked: index % 2 === 1,
  })).filter((part) => part.text);
}

// Pagefind's text of a page starts with its headline ("Headline. Body..."): shown above the
// excerpt already, it is dropped from an excerpt that starts with it.
function withoutHeadline(parts, title) {
  const plain = parts.map((part) => part.text).join("");
  if (!title || !plain.startsWith(title)) return parts;
  let skip = title.length;
  if (plain[skip] === ".") skip += 1;
  if (skip < plain.length && !/\s/.test(plain[skip])) return parts; // a longer first word
  while (skip < plain.length && /\s/.test(plain[skip])) skip += 1;
  const out = [];
  for (const part of parts) {
    if (skip >= part.text.length) {
      skip -= part.text.length;
      continue;
    }
    out.push({ text: part.text.slice(skip), marked: part.marked });
    skip = 0;
  }
  return out;
}
