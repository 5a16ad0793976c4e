// Which kernel trees the benchmark measures: Linux versions from the installed linux-source
// tarballs (extracted once into a tmp cache by kernelTreeForVersion), or one tree given by path.
import { kernelTreeForVersion } from '../../extension/core/tree/sourceTarball';

export const DEFAULT_VERSIONS = ['6.12', '7.3'];

export interface TreeTarget {
  label: string;
  dir: string;
}

/** The trees to measure, and one line for each version that is not installed (or will not extract). */
export async function resolveVersions(versions: readonly string[]): Promise<{ trees: TreeTarget[]; skipped: string[] }> {
  const trees: TreeTarget[] = [];
  const skipped: string[] = [];
  for (const v of versions) {
    try {
      const dir = await kernelTreeForVersion(v);
      if (dir) trees.push({ label: `Linux ${v}`, dir });
      else skipped.push(`Linux ${v} skipped: no linux-source-${v}.tar.xz in /usr/src or $KVM_LENS_SOURCES_DIR (scripts/install-linux-sources.sh)`);
    } catch (e) {
      skipped.push(`Linux ${v} skipped: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
  }
  return { trees, skipped };
}
