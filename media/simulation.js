// The simulation panel's page: edits the ioctl sequence, shows each step's state, and sends
// the lines a step ran back to the editor. No network, no inline handlers (strict CSP).
(function () {
  const vscode = acquireVsCodeApi();
  let steps = [];
  let operations = [];
  const el = (tag, attrs, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  };
  const flags = (f) => Object.keys(f).length ? Object.entries(f).map(([k, v]) => `${k}${v === 'set' ? '' : '=' + v}`).join(', ') : '—';

  function renderSequence() {
    const box = document.getElementById('sequence');
    box.replaceChildren(el('h2', {}, 'ioctl sequence'));
    steps.forEach((s, i) => box.append(el('span', { class: 'seq-item' }, `${s.operation}${s.vcpu === null ? '' : ' (vcpu ' + s.vcpu + ')'}`,
      el('button', { title: 'remove', onclick: () => { steps.splice(i, 1); run(); } }, '×'))));
    const op = el('select', { 'aria-label': 'operation' }, ...operations.map((o) => el('option', { value: o.name }, o.name)));
    const vcpu = el('select', { 'aria-label': 'vcpu' }, el('option', { value: '0' }, 'vcpu 0'), el('option', { value: '1' }, 'vcpu 1'));
    box.append(el('div', {}, op, vcpu, el('button', { onclick: () => {
      const o = operations.find((x) => x.name === op.value);
      steps.push({ operation: op.value, vcpu: o && o.perVcpu ? Number(vcpu.value) : null });
      run();
    } }, 'Add step')));
  }

  function renderWhatIf(last) {
    const box = document.getElementById('whatif');
    const toggles = [['vm-type', ['protected', 'legacy', 'snp']], ['protected-at-create', ['false', 'true']], ['launch-refuses-debug', ['false', 'true']]];
    const selects = toggles.map(([key, values]) => el('label', {}, `${key} `, el('select', { 'data-key': key }, ...values.map((v) => el('option', { value: v }, v)))));
    box.replaceChildren(el('h2', {}, 'what if'), ...selects, el('button', { onclick: () => {
      const assumptions = {};
      for (const s of box.querySelectorAll('select')) assumptions[s.dataset.key] = s.value;
      vscode.postMessage({ kind: 'whatIf', assumptions });
    } }, 'Compare findings'));
    if (last) {
      const list = el('ul', {});
      for (const f of last.appeared) list.append(el('li', { class: 'appeared' }, `+ ${f.rule}: ${f.location.function || ''} ${f.message.slice(0, 120)}`));
      for (const f of last.vanished) list.append(el('li', { class: 'vanished' }, `− ${f.rule}: ${f.location.function || ''} ${f.message.slice(0, 120)}`));
      if (!last.appeared.length && !last.vanished.length) list.append(el('li', {}, `no finding appears or vanishes (${last.unchanged} unchanged)`));
      box.append(list);
    }
  }

  function renderSteps(result) {
    const box = document.getElementById('steps');
    const table = el('table', {}, el('tr', {}, el('th', {}, '#'), el('th', {}, 'operation'), el('th', {}, 'outcome'), el('th', {}, 'VM'), el('th', {}, 'vCPUs: ground truth | kernel flags')));
    const row = (n, op, outcome, state, lines, skipped) => {
      const vcpus = state.vcpus.map((v, i) => el('div', {}, `vcpu ${i}: `, el('span', { class: 'truth' }, `${v.encrypted ? 'VMSA encrypted' : 'VMSA plaintext'}${v.debugArmed ? ', debug armed' : ''}`), ' | ', el('span', { class: 'belief' }, flags(v.flags))));
      const vm = `${state.vm.type}${state.vm.sevInitialised ? ', SEV-ES' : ''}, fw ${state.vm.firmware}; ${flags(state.vm.flags)}`;
      const tr = el('tr', { class: 'step', onclick: () => { for (const r of table.querySelectorAll('tr')) r.classList.remove('selected'); tr.classList.add('selected'); vscode.postMessage({ kind: 'showLines', lines }); } },
        el('td', {}, n), el('td', {}, op), el('td', { class: skipped ? 'skipped' : '' }, skipped || outcome || ''), el('td', {}, vm), el('td', {}, ...vcpus));
      return tr;
    };
    table.append(row(0, '(fresh VM)', '', result.initial, [], ''));
    result.steps.forEach((s, i) => table.append(row(i + 1, `${s.operation}${s.vcpu === null ? '' : ' (vcpu ' + s.vcpu + ')'}`, s.outcome, s.state, s.lines, s.skipped)));
    box.replaceChildren(el('h2', {}, 'state after each step'), table);
  }

  function run() { vscode.postMessage({ kind: 'simulate', steps }); renderSequence(); }

  window.addEventListener('message', (e) => {
    const m = e.data;
    if (m.kind === 'sequence') { steps = m.steps; operations = m.result.operations; renderSequence(); renderSteps(m.result); renderWhatIf(); }
    else if (m.kind === 'whatIf') renderWhatIf(m.result);
  });
})();
