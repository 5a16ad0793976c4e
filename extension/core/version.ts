// The tool's version, as package.json states it (esbuild inlines the JSON into the bundle).
import pkg from '../../package.json';

export const TOOL_VERSION: string = pkg.version;
