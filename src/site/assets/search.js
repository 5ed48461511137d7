// The component directory's search: filters the prebuilt index (search-index.js, which
// sets window.OCP_SEARCH_INDEX) by words and facets, in the browser, with no request.
// Third-party strings only ever enter the page as text (textContent), never as markup.
(function () {
  'use strict';
  document.documentElement.className = 'js';
  var data = window.OCP_SEARCH_INDEX;
  var form = document.getElementById('search');
  var list = document.getElementById('results');
  if (!data || !form || !list) {
    return;
  }
  var LIMIT = 100;
  var field = function (id) { return document.getElementById(id); };
  var inputs = {
    q: field('q'),
    family: field('family'),
    mode: field('mode'),
    capability: field('capability'),
    osiris: field('osiris'),
    status: field('status')
  };
  var items = data.components.map(function (c) {
    return {
      c: c,
      name: c.n,
      title: (c.t || '').toLowerCase(),
      text: [c.n, c.p, c.t, c.d, c.f].join(' ').toLowerCase()
    };
  });

  var families = {};
  items.forEach(function (item) { families[item.c.f] = true; });
  var datalist = field('family-list');
  Object.keys(families).sort().slice(0, 2000).forEach(function (family) {
    var option = document.createElement('option');
    option.value = family;
    datalist.appendChild(option);
  });

  function terms(query) {
    return query.toLowerCase().split(/[^a-z0-9_.\-]+/).filter(function (t) { return t; });
  }

  // -1 when a word does not match at all; higher for matches in the name.
  function score(item, words) {
    var total = 0;
    for (var i = 0; i < words.length; i++) {
      var word = words[i];
      if (item.name === word) { total += 100; }
      else if (item.name.indexOf(word) === 0) { total += 50; }
      else if (item.name.indexOf(word) >= 0) { total += 30; }
      else if (item.title.indexOf(word) >= 0) { total += 20; }
      else if (item.text.indexOf(word) >= 0) { total += 5; }
      else { return -1; }
    }
    return total;
  }

  function keep(c, filters) {
    if (filters.family && c.f !== filters.family) { return false; }
    if (filters.mode && c.m.indexOf(filters.mode) < 0) { return false; }
    if (filters.capability && c.c.indexOf(filters.capability) < 0) { return false; }
    if (filters.osiris) {
      var at = data.osiris.indexOf(filters.osiris);
      if (at < 0 || c.o.indexOf(at) < 0) { return false; }
    }
    if (filters.status === 'installable' && c.s === 'yanked') { return false; }
    if (filters.status && filters.status !== 'installable' && c.s !== filters.status) { return false; }
    return true;
  }

  function text(tag, className, value) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    node.textContent = value;
    return node;
  }

  function row(c) {
    var li = text('li', 'result', '');
    li.setAttribute('data-component', c.n);
    var head = text('div', 'result-head', '');
    var link = text('a', 'result-name', c.n);
    link.setAttribute('href', c.u);
    head.appendChild(link);
    head.appendChild(text('span', 'version', c.v));
    if (c.s === 'yanked') { head.appendChild(text('span', 'badge badge-yanked', 'yanked')); }
    if (c.s === 'stale') { head.appendChild(text('span', 'badge badge-stale', 'no release this year')); }
    c.m.forEach(function (mode) { head.appendChild(text('span', 'badge badge-mode', mode)); });
    li.appendChild(head);
    if (c.t) { li.appendChild(text('div', 'result-title', c.t)); }
    li.appendChild(text('p', 'result-description', c.d));
    li.appendChild(text('div', 'result-meta', c.p));
    return li;
  }

  function current() {
    var filters = {};
    Object.keys(inputs).forEach(function (key) { filters[key] = inputs[key].value.trim(); });
    return filters;
  }

  function update() {
    var filters = current();
    var words = terms(filters.q);
    var hits = [];
    items.forEach(function (item) {
      if (!keep(item.c, filters)) { return; }
      var s = words.length ? score(item, words) : 0;
      if (s >= 0) { hits.push({ item: item, score: s }); }
    });
    hits.sort(function (a, b) {
      return b.score - a.score || (a.item.name < b.item.name ? -1 : a.item.name > b.item.name ? 1 : 0);
    });
    while (list.firstChild) { list.removeChild(list.firstChild); }
    hits.slice(0, LIMIT).forEach(function (hit) { list.appendChild(row(hit.item.c)); });
    var count = field('count');
    count.textContent = hits.length === 1 ? '1 component' :
      hits.length + ' components' + (hits.length > LIMIT ? ' (showing the first ' + LIMIT + ')' : '');
    var state = Object.keys(filters).filter(function (k) { return filters[k]; })
      .map(function (k) { return k + '=' + encodeURIComponent(filters[k]); }).join('&');
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, '', state ? '#' + state : window.location.pathname);
    }
  }

  // Restore a shared or reloaded search from the address (#q=shopify&osiris=0.5.7).
  window.location.hash.replace(/^#/, '').split('&').forEach(function (pair) {
    var parts = pair.split('=');
    var input = inputs[parts[0]];
    if (input && parts.length === 2) {
      try { input.value = decodeURIComponent(parts[1]); } catch (e) { /* ignore a bad address */ }
    }
  });
  form.addEventListener('submit', function (event) { event.preventDefault(); update(); });
  Object.keys(inputs).forEach(function (key) {
    inputs[key].addEventListener(key === 'q' || key === 'family' ? 'input' : 'change', update);
  });
  update();
}());
