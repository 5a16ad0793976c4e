// The simulation panel's page. It draws what the extension sends (one "render" message holds
// everything), sends back what the user asks for (a step, another sequence, other what-if
// values), and after each drawing reports what it shows, read from its own DOM. No network,
// no inline handlers (strict CSP).
(function () {
  const vscode = acquireVsCodeApi();
  /** The last model the extension sent. */
  let model;
  /** The add-step picks survive a redraw. */
  const pick = { operation: '', vcpu: '0' };

  const el = (tag, attrs, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  };
  const byId = (id) => document.getElementById(id);
  const vcpuText = (v) => (v === null || v === undefined ? '' : ` (vcpu ${v})`);
  const flags = (f) => (Object.keys(f).length ? Object.entries(f).map(([k, v]) => `${k}${v === 'set' ? '' : '=' + v}`).join(', ') : '—');
  const assume = (v) => [`vm-type=${v.vmType}`, `vcpus=${v.vcpus}`, `protected-at-create=${v.protectedAtCreate}`, `launch-refuses-debug=${v.launchRefusesDebug}`, ...v.guardAbsent.map((g) => `guard-absent=${g}`)];
  const sameValues = (a, b) => assume({ ...a, guardAbsent: [...a.guardAbsent].sort() }).join(' ') === assume({ ...b, guardAbsent: [...b.guardAbsent].sort() }).join(' ');

  function render() {
    renderTitle();
    renderStepper();
    renderSteps();
    renderWhatIf();
    renderSequence();
    report();
  }

  function renderTitle() {
    const parts = [el('h1', {}, model.title)];
    if (model.error) parts.push(el('p', { class: 'error', role: 'alert' }, model.error));
    for (const n of (model.result && model.result.notes) || []) parts.push(el('p', { class: 'note' }, n));
    byId('title').replaceChildren(...parts);
  }

  // ---- what-if: the values the shown result was computed with (or the run under way) ----
  function renderWhatIf() {
    const box = byId('whatif');
    const shown = model.pending || (model.result && model.result.whatIf) || model.configured;
    const send = () => vscode.postMessage({ kind: 'whatIf', values: readValues() });
    const select = (key, label, options, value) => el('label', { class: 'control' }, `${label} `,
      el('select', { 'data-key': key, onchange: send }, ...options.map((o) => el('option', { value: String(o), selected: String(o) === String(value) }, String(o)))));
    const check = (key, label, value) => el('label', { class: 'control' }, el('input', { type: 'checkbox', 'data-key': key, checked: value, onchange: send }), ` ${label}`);
    const guards = (model.result && model.result.guards) || [];
    const guardList = el('fieldset', { class: 'guards' }, el('legend', {}, 'guard absent (the guards of the functions the steps went through)'),
      ...(guards.length ? guards.map((g) => el('label', { class: 'guard', title: g.spec },
        el('input', { type: 'checkbox', 'data-guard': g.spec, checked: shown.guardAbsent.includes(g.spec), onchange: send }),
        ' ', el('code', {}, g.fn), ': ', el('code', {}, `if (${g.condition})`), g.file ? el('span', { class: 'where' }, ` ${g.file.split('/').pop()}:${g.line}`) : ' (not on these steps)'))
        : [el('p', { class: 'muted' }, 'no step went through a guard on kernel state')]));
    const status = model.pending ? `running with --assume ${assume(model.pending).join(' ')}…`
      : model.result ? `computed with --assume ${assume(model.result.whatIf).join(' ')}${sameValues(model.result.whatIf, model.configured) ? ' (as in the settings)' : ''}` : '';
    const children = [el('h2', {}, 'what if'),
      el('div', { class: 'controls' },
        select('vmType', 'VM type', ['protected', 'legacy', 'snp'], shown.vmType),
        select('vcpus', 'vCPUs', [1, 2, 3], shown.vcpus),
        check('protectedAtCreate', 'guest_state_protected set at vCPU creation', shown.protectedAtCreate),
        check('launchRefusesDebug', 'LAUNCH_UPDATE_VMSA refuses while debug is armed', shown.launchRefusesDebug)),
      guardList,
      el('p', { class: 'status', id: 'status' }, status)];
    if (model.diff) children.push(renderDiff(model.diff));
    box.replaceChildren(...children);
  }

  function renderDiff(d) {
    if (d.computing) return el('p', { class: 'muted' }, 'comparing the series\' findings with the settings\' …');
    const list = el('ul', { class: 'diff' });
    for (const f of d.appeared) list.append(el('li', { class: 'appeared' }, `appears: ${f.rule}${f.fn ? ' in ' + f.fn + '()' : ''}: ${f.message}`));
    for (const f of d.vanished) list.append(el('li', { class: 'vanished' }, `vanishes: ${f.rule}${f.fn ? ' in ' + f.fn + '()' : ''}: ${f.message}`));
    if (!d.appeared.length && !d.vanished.length) list.append(el('li', {}, `the series' findings are the same as with the settings (${d.unchanged})`));
    return el('div', {}, el('h3', {}, 'findings compared with the settings'), list);
  }

  function readValues() {
    const box = byId('whatif');
    const get = (key) => box.querySelector(`[data-key="${key}"]`);
    return {
      vmType: get('vmType').value,
      vcpus: Number(get('vcpus').value),
      protectedAtCreate: get('protectedAtCreate').checked,
      launchRefusesDebug: get('launchRefusesDebug').checked,
      guardAbsent: [...box.querySelectorAll('[data-guard]')].filter((c) => c.checked).map((c) => c.dataset.guard),
    };
  }

  // ---- the sequence: remove a step, add one ----
  function renderSequence() {
    const box = byId('sequence');
    const steps = model.steps;
    const send = (next) => vscode.postMessage({ kind: 'sequence', steps: next });
    const chips = steps.map((s, i) => el('span', { class: 'seq-item' }, `${i + 1}. ${s.operation}${vcpuText(s.vcpu)}`,
      el('button', { class: 'icon', title: `remove step ${i + 1}`, 'aria-label': `remove step ${i + 1}`, onclick: () => send(steps.filter((_, j) => j !== i)) }, '×')));
    const operations = (model.result && model.result.operations) || [];
    if (!operations.some((o) => o.name === pick.operation)) pick.operation = operations[0] ? operations[0].name : '';
    const perVcpu = (name) => { const o = operations.find((x) => x.name === name); return !!(o && o.perVcpu); };
    const vcpu = el('select', { 'aria-label': 'vCPU', disabled: !perVcpu(pick.operation), onchange: () => { pick.vcpu = vcpu.value; } },
      ...[0, 1, 2].map((n) => el('option', { value: String(n), selected: String(n) === pick.vcpu }, `vcpu ${n}`)));
    const op = el('select', { 'aria-label': 'ioctl', onchange: () => { pick.operation = op.value; vcpu.disabled = !perVcpu(op.value); } },
      ...operations.map((o) => el('option', { value: o.name, selected: o.name === pick.operation }, o.name)));
    const add = el('button', { onclick: () => send([...steps, { operation: op.value, vcpu: perVcpu(op.value) ? Number(vcpu.value) : null }]) }, 'Add step');
    box.replaceChildren(el('h2', {}, 'ioctl sequence'), el('div', { class: 'chips' }, ...chips), el('div', { class: 'add' }, op, vcpu, add));
  }

  // ---- the stepper: the state after the current step ----
  function stateOf(i) {
    const r = model.result;
    return i === 0 ? r.initial : r.steps[i - 1].state;
  }

  function stateRows(state) {
    const rows = [['VM', `${state.vm.type}${state.vm.sevInitialised ? ', SEV initialised' : ''}, firmware ${state.vm.firmware}`, flags(state.vm.flags)]];
    state.vcpus.forEach((v, i) => rows.push([`vcpu ${i}`, `VMSA ${v.encrypted ? 'encrypted' : 'plaintext'}${v.debugArmed ? ', debug armed' : ''}`, flags(v.flags)]));
    return rows;
  }

  function renderStepper() {
    const box = byId('stepper');
    const r = model.result;
    if (!r) { box.replaceChildren(el('p', { class: 'muted' }, 'simulating…')); return; }
    const n = r.steps.length;
    const i = Math.min(model.current, n);
    const step = i > 0 ? r.steps[i - 1] : undefined;
    const heading = step ? `Step ${i} of ${n}: ${step.operation}${vcpuText(step.vcpu)}: ${step.skipped || step.outcome || ''}` : `Before step 1 of ${n}: the VM as KVM_CREATE_VM left it`;
    const back = el('button', { id: 'back', disabled: i === 0, title: 'previous step (←)', onclick: () => vscode.postMessage({ kind: 'step', delta: -1 }) }, '◀ Back');
    const next = el('button', { id: 'next', disabled: i >= n, title: 'next step (→)', onclick: () => vscode.postMessage({ kind: 'step', delta: 1 }) }, 'Next ▶');
    const before = i > 0 ? stateRows(stateOf(i - 1)) : [];
    const rows = stateRows(stateOf(i));
    const table = el('table', { id: 'state', class: 'collapsible' },
      el('thead', {}, el('tr', {}, el('th', {}, ''), el('th', {}, 'ground truth'), el('th', {}, 'kernel\'s flags'))),
      el('tbody', {}, ...rows.map((row, k) => el('tr', {}, ...row.map((cell, c) => {
        const changed = c > 0 && i > 0 && (!before[k] || before[k][c] !== cell);
        return el(c === 0 ? 'th' : 'td', { 'data-label': c === 1 ? 'ground truth' : c === 2 ? 'kernel\'s flags' : undefined, class: changed ? 'changed' : undefined, title: changed ? 'changed by this step' : undefined }, cell);
      })))));
    const marks = model.marks.filter((m) => m.step === i).map(markLine);
    box.replaceChildren(el('h2', {}, 'state after the current step'),
      el('div', { class: 'nav' }, back, el('span', { id: 'heading', class: 'heading' }, heading), next),
      ...marks, table,
      step && step.places.length ? el('p', { class: 'muted' }, `lines it ran: ${step.places.map((p) => `${p.file.split('/').pop()}:${p.lines.join(',')}`).join('; ')}`) : '');
  }

  function markLine(m) {
    return el('p', { class: `mark ${m.severity}` }, el('span', { class: 'sev' }, m.severity), ' ', m.message, ' ', el('code', { class: 'rule' }, `[${m.rule}]`));
  }

  // ---- every step, with the hazard rows ----
  function renderSteps() {
    const box = byId('steps');
    const r = model.result;
    if (!r) { box.replaceChildren(); return; }
    const body = el('tbody', {});
    const row = (i, label, outcome, skipped) => {
      const tr = el('tr', { class: `step${i === model.current ? ' selected' : ''}${model.marks.some((m) => m.step === i) ? ' has-hazard' : ''}`, 'data-step': String(i), tabindex: '0', onclick: () => vscode.postMessage({ kind: 'goto', index: i }) },
        el('td', { 'data-label': '#' }, String(i)), el('td', { 'data-label': 'ioctl' }, label), el('td', { 'data-label': 'outcome', class: skipped ? 'skipped' : undefined }, skipped || outcome || ''));
      body.append(tr);
      for (const m of model.marks.filter((x) => x.step === i)) {
        body.append(el('tr', { class: `hazard ${m.severity}`, 'data-step': String(i), 'data-rule': m.rule, onclick: () => vscode.postMessage({ kind: 'goto', index: i }) },
          el('td', { colspan: '3' }, markLine(m))));
      }
    };
    row(0, '(KVM_CREATE_VM)', 'the VM before the sequence', '');
    r.steps.forEach((s, i) => row(i + 1, `${s.operation}${vcpuText(s.vcpu)}`, s.outcome, s.skipped));
    box.replaceChildren(el('h2', {}, 'steps'), el('table', { id: 'step-list', class: 'collapsible' },
      el('thead', {}, el('tr', {}, el('th', {}, '#'), el('th', {}, 'ioctl'), el('th', {}, 'outcome'))), body));
  }

  // ---- what the page shows, for the extension (and its tests) ----
  function report() {
    const text = (e) => (e ? e.textContent.replace(/\s+/g, ' ').trim() : '');
    const state = [...document.querySelectorAll('#state tbody tr')].map((tr) => [...tr.cells].map(text).join(' | ')).join('\n');
    const root = document.documentElement;
    const cell = document.querySelector('#state tbody td');
    vscode.postMessage({
      kind: 'shown',
      shown: {
        renderId: model.renderId,
        current: model.result ? Math.min(model.current, model.result.steps.length) : 0,
        total: model.result ? model.result.steps.length : 0,
        heading: text(byId('heading')),
        state,
        hazards: [...document.querySelectorAll('#step-list tr.hazard')].map((tr) => ({ step: Number(tr.dataset.step), rule: tr.dataset.rule, text: text(tr) })),
        controls: readValues(),
        guardOptions: [...document.querySelectorAll('[data-guard]')].map((c) => c.dataset.guard),
        fitsWidth: root.scrollWidth <= root.clientWidth + 1,
        collapsed: !!cell && getComputedStyle(cell).display === 'block',
        width: root.clientWidth,
        status: text(byId('status')),
      },
    });
  }

  function automate(m) {
    if (m.click) { const e = document.querySelector(m.click); if (e) e.click(); return; }
    const e = document.querySelector(m.set);
    if (!e) return;
    if (e.type === 'checkbox') e.checked = !!m.value; else e.value = String(m.value);
    e.dispatchEvent(new Event('change', { bubbles: true }));
  }

  window.addEventListener('keydown', (e) => {
    if (!model || !model.result || e.target instanceof HTMLSelectElement || e.target instanceof HTMLInputElement) return;
    if (e.key === 'ArrowRight') vscode.postMessage({ kind: 'step', delta: 1 });
    else if (e.key === 'ArrowLeft') vscode.postMessage({ kind: 'step', delta: -1 });
  });
  // the page redraws on resize only through CSS; the report says whether it still fits
  window.addEventListener('resize', () => { if (model) report(); });

  window.addEventListener('message', (e) => {
    const m = e.data;
    if (m.kind === 'render') { model = m.model; render(); }
    else if (m.kind === 'automate') automate(m);
  });
  vscode.postMessage({ kind: 'ready' });
})();
