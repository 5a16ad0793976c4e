// Every simulation rule, in the order their findings are listed.
import type { Rule } from './rule';
import { debugAfterEncryption } from './debugAfterEncryption';
import { debugArmedAtEncryption } from './debugArmedAtEncryption';
import { initRefusedBeforeEncryption } from './initRefusedBeforeEncryption';
import { protectionFlagNotSet } from './protectionFlagNotSet';
import { sevInitAfterVcpuCreate } from './sevInitAfterVcpuCreate';
import { vmsaReadAfterEncryption } from './vmsaReadAfterEncryption';
import { legacyWriteIgnored, vmsaWriteAfterEncryption } from './vmsaWriteAfterEncryption';

export const SIMULATION_RULES: readonly Rule[] = [
  vmsaWriteAfterEncryption,
  vmsaReadAfterEncryption,
  debugAfterEncryption,
  debugArmedAtEncryption,
  protectionFlagNotSet,
  initRefusedBeforeEncryption,
  sevInitAfterVcpuCreate,
  legacyWriteIgnored,
];
