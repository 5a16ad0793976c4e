// --assume KEY=VALUE (and the editor's what-if toggles) turned into analysis options, with a
// one-line message for a key or value we do not know.
import type { AnalysisOptions } from './analyzeSeries';

export const ASSUMPTION_KEYS = ['protected-at-create', 'vm-type', 'vcpus', 'guard-absent', 'launch-refuses-debug'] as const;

export function applyAssumption(opts: AnalysisOptions, key: string, value: string): string | undefined {
  const bool = (v: string): boolean | undefined => (v === 'true' || v === '1' || v === 'yes' ? true : v === 'false' || v === '0' || v === 'no' ? false : undefined);
  switch (key) {
    case 'protected-at-create': {
      const b = bool(value);
      if (b === undefined) return `--assume protected-at-create needs true or false, got "${value}"`;
      opts.assumptions = { ...opts.assumptions, protectedAtCreate: b };
      return undefined;
    }
    case 'launch-refuses-debug': {
      const b = bool(value);
      if (b === undefined) return `--assume launch-refuses-debug needs true or false, got "${value}"`;
      opts.assumptions = { ...opts.assumptions, launchRefusesDebug: b };
      return undefined;
    }
    case 'vm-type':
      if (value !== 'legacy' && value !== 'protected' && value !== 'snp') return `--assume vm-type needs legacy, protected or snp, got "${value}"`;
      opts.assumptions = { ...opts.assumptions, vmType: value };
      return undefined;
    case 'vcpus': {
      const n = Number(value);
      if (n !== 1 && n !== 2 && n !== 3) return `--assume vcpus needs 1, 2 or 3, got "${value}"`;
      opts.assumptions = { ...opts.assumptions, vcpus: n };
      return undefined;
    }
    case 'guard-absent':
      if (!value) return '--assume guard-absent needs FUNCTION:CONDITION, e.g. kvm_arch_vcpu_ioctl_set_guest_debug:guest_state_protected';
      opts.absentGuards = [...opts.absentGuards, value];
      return undefined;
    default:
      return `unknown assumption "${key}" (known: ${ASSUMPTION_KEYS.join(', ')})`;
  }
}
