// The interactive Platform API reference: renders /v1/openapi.json (served by this
// server) and sends "Try it" requests with the Api-Token typed in the header field.
// No dependencies, no inline scripts or styles; the token stays in this tab's sessionStorage.
const $ = (sel, root = document) => root.querySelector(sel);
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Creates an element with text or children. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

/** Resolves a `$ref` into the document's components. */
function resolve(doc, schema) {
  let s = schema;
  for (let i = 0; s && s.$ref && i < 10; i++) {
    s = s.$ref.replace(/^#\//, '').split('/').reduce((o, k) => o?.[k], doc);
  }
  return s || {};
}

/** A JSON value shaped like `schema`, to start a request body from. */
function example(doc, schema, depth = 0) {
  const s = resolve(doc, schema);
  if (depth > 5) return null;
  if (s.example !== undefined) return s.example;
  if (s.default !== undefined) return s.default;
  if (s.enum) return s.enum[0];
  const alt = s.oneOf || s.anyOf;
  if (alt) return example(doc, alt.find((x) => resolve(doc, x).type !== 'null') || alt[0], depth + 1);
  if (s.allOf) return Object.assign({}, ...s.allOf.map((x) => example(doc, x, depth + 1)));
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'object': {
      const out = {};
      for (const [k, v] of Object.entries(s.properties || {})) out[k] = example(doc, v, depth + 1);
      return out;
    }
    case 'array': return [example(doc, s.items || {}, depth + 1)];
    case 'string': return '';
    case 'integer': case 'number': return 0;
    case 'boolean': return false;
    default: return s.properties ? example(doc, { ...s, type: 'object' }, depth) : null;
  }
}

function jsonSchemaOf(content) {
  return content?.['application/json']?.schema;
}

function paramTable(params) {
  if (!params.length) return el('p', { class: 'hint' }, 'No parameters.');
  const rows = params.map((p) => el('tr', {},
    el('td', {}, el('code', {}, p.name)), el('td', {}, p.in), el('td', {}, p.required ? 'required' : ''),
    el('td', {}, p.description || '')));
  return el('table', {}, el('tr', {}, el('th', {}, 'name'), el('th', {}, 'in'), el('th', {}, ''), el('th', {}, 'description')), ...rows);
}

/** The "Try it" form of one operation. */
function tryIt(doc, method, path, op, params) {
  const form = el('form', { class: 'try' });
  const inputs = params.filter((p) => p.in === 'path' || p.in === 'query').map((p) => {
    const input = el('input', { name: p.name, placeholder: p.in === 'path' ? 'required' : 'optional' });
    return { p, input, label: el('label', {}, `${p.name} (${p.in})`, input) };
  });
  form.append(el('div', { class: 'params' }, ...inputs.map((i) => i.label)));
  const bodySchema = jsonSchemaOf(op.requestBody?.content);
  const body = bodySchema ? el('textarea', { name: 'body', spellcheck: 'false' }) : null;
  if (body) {
    body.value = JSON.stringify(example(doc, bodySchema), null, 2);
    form.append(el('label', {}, 'JSON body', body));
  }
  const out = el('pre', { hidden: '' });
  const status = el('span', { class: 'status' });
  form.append(el('div', {}, el('button', { type: 'submit' }, 'Send'), ' ', status), out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    let url = path;
    const query = new URLSearchParams();
    for (const { p, input } of inputs) {
      if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(input.value));
      else if (input.value) query.set(p.name, input.value);
    }
    if ([...query].length) url += '?' + query;
    const headers = { 'Api-Token': $('#token').value };
    if (body) headers['content-type'] = 'application/json';
    status.textContent = '…';
    try {
      const resp = await fetch(url, { method: method.toUpperCase(), headers, body: body ? body.value : undefined });
      const text = await resp.text();
      status.textContent = `${resp.status} ${resp.statusText}`;
      try { out.textContent = JSON.stringify(JSON.parse(text), null, 2); } catch { out.textContent = text; }
    } catch (err) {
      status.textContent = 'failed';
      out.textContent = String(err);
    }
    out.hidden = false;
  });
  return form;
}

function operation(doc, method, path, op, shared) {
  const params = [...shared, ...(op.parameters || [])].map((p) => resolve(doc, p));
  const id = op.operationId || `${method}-${path}`;
  const details = el('details', { class: 'op', id });
  details.append(el('summary', {}, el('span', { class: `method ${method}` }, method), el('span', { class: 'path' }, path), el('span', {}, op.summary || '')));
  const body = el('div', { class: 'body' });
  if (op.description) body.append(el('p', {}, op.description));
  body.append(el('h4', {}, 'Parameters'), paramTable(params));
  const reqSchema = jsonSchemaOf(op.requestBody?.content);
  if (reqSchema) body.append(el('h4', {}, 'Request body'), el('pre', {}, JSON.stringify(example(doc, reqSchema), null, 2)));
  for (const [code, r] of Object.entries(op.responses || {})) {
    const schema = jsonSchemaOf(resolve(doc, r).content);
    body.append(el('h4', {}, `Response ${code}`), schema ? el('pre', {}, JSON.stringify(example(doc, schema), null, 2)) : el('p', { class: 'hint' }, r.description || 'No body.'));
  }
  body.append(el('h4', {}, 'Try it'), tryIt(doc, method, path, op, params));
  details.append(body);
  return details;
}

async function main() {
  const token = $('#token');
  token.value = sessionStorage.getItem('opencalls-api-token') || '';
  token.addEventListener('change', () => sessionStorage.setItem('opencalls-api-token', token.value));
  const doc = await (await fetch('/v1/openapi.json')).json();
  $('#title').textContent = `${doc.info.title} ${doc.info.version}`;
  $('#intro').textContent = doc.info.description || '';
  const byTag = new Map();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = op.tags?.[0] || 'Other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push({ path, method, op, shared: item.parameters || [] });
    }
  }
  for (const [tag, ops] of byTag) {
    $('#toc').append(el('h3', {}, tag));
    const section = el('section', {}, el('h2', {}, tag));
    for (const { path, method, op, shared } of ops) {
      const node = operation(doc, method, path, op, shared);
      section.append(node);
      const link = el('a', { href: `#${node.id}` }, `${method.toUpperCase()} ${path}`);
      link.addEventListener('click', () => { node.open = true; });
      $('#toc').append(link);
    }
    $('#ops').append(section);
  }
  document.body.dataset.ready = 'true';
}

main().catch((err) => { $('#intro').textContent = `Could not load the API description: ${err}`; });
