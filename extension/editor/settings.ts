// The extension's settings (kvmLens.*), read in one place.
import * as vscode from 'vscode';
import type { Severity } from '../core/findings';
import type { AnalysisSettings } from '../translate/documentAnalysis';

export interface LensSettings {
  analysis: AnalysisSettings;
  severities: Partial<Record<string, Severity | 'off'>>;
  /** Globs of documents to analyse as series. */
  seriesFiles: string[];
  debounceMs: number;
}

export function readSettings(): LensSettings {
  const c = vscode.workspace.getConfiguration('kvmLens');
  return {
    analysis: {
      depth: c.get<number>('depth', 12),
      vcpus: c.get<number>('vcpus', 2),
      // object settings arrive as read-only proxies, which cannot cross to the worker thread
      assumptions: { ...c.get<Record<string, string>>('assumptions', {}) },
      timeLimitSeconds: c.get<number>('analysisTimeLimit', 300),
    },
    severities: { ...c.get<Record<string, Severity | 'off'>>('severity', {}) },
    seriesFiles: c.get<string[]>('files', ['**/*.patch', '**/*.diff', '**/*.mbox', '**/*.mbx', '**/*.eml', '**/*.cover']),
    debounceMs: c.get<number>('debounceMs', 400),
  };
}
