// Public surface of the reports.
export { renderHtml, echartsBundle } from './render-html.ts';
export { renderMarkdown } from './render-markdown.ts';
export { renderJson } from './render-json.ts';
export { validateReport, REPORT_SCHEMA_VERSION, REPORT_KIND } from './schema.ts';
export type * from './schema.ts';
export * from './charts/index.ts';
