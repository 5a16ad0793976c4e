// Our own C for a test, parsed and lowered as the analysis does, as functions by name.
import { parseC } from '../../../extension/core/parse/cParser';
import type { FunctionIr } from '../../../extension/core/summary/ir';
import { lowerTranslationUnit } from '../../../extension/core/summary/lowerToIr';

export async function lowerFunctions(source: string, file = 'test.c', origin: FunctionIr['origin'] = 'series'): Promise<Map<string, FunctionIr>> {
  const tree = await parseC(source);
  try {
    return new Map(lowerTranslationUnit(tree.rootNode, { file, mapRow: (r) => ({ line: r + 1 }), origin }).functions.map((f) => [f.name, f]));
  } finally {
    tree.delete();
  }
}
