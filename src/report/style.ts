/**
 * The stylesheet every page inlines (no external fonts or files): light theme, system fonts,
 * a readable measure for prose, full width for figures and tables, stacking on narrow screens.
 */
export const STYLESHEET = `
:root { --fg: #1f2328; --muted: #656d76; --border: #d0d7de; --bg: #ffffff; --panel: #f6f8fa; --accent: #0969da; --warn: #9a6700; --warn-bg: #fff8c5; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 64px; }
header.page { border-bottom: 1px solid var(--border); margin-bottom: 20px; padding-bottom: 12px; }
header.page h1 { font-size: 1.7rem; line-height: 1.25; margin: 0 0 4px; overflow-wrap: anywhere; }
header.page .meta, header.page .subtitle { color: var(--muted); font-size: 0.9rem; }
header.page .meta a { color: var(--accent); }
h2 { font-size: 1.3rem; margin: 32px 0 10px; overflow-wrap: anywhere; }
h3 { font-size: 1.05rem; margin: 18px 0 8px; overflow-wrap: anywhere; }
p { max-width: 75ch; margin: 8px 0; }
a { color: var(--accent); }
code, pre, .tokens { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 0.88em; }
code { background: var(--panel); padding: 1px 4px; border-radius: 4px; overflow-wrap: anywhere; white-space: pre-wrap; }
.muted { color: var(--muted); }
.card { border: 1px solid var(--border); border-radius: 8px; padding: 4px 16px 12px; background: var(--bg); }
.card h2 { margin-top: 12px; font-size: 1.1rem; }
table { border-collapse: collapse; font-size: 0.92rem; }
.table-wrap { overflow-x: auto; margin: 12px 0; }
.table-wrap table { min-width: 40%; }
caption { text-align: left; font-weight: 600; padding: 4px 0 8px; }
th, td { border-bottom: 1px solid var(--border); padding: 5px 10px; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
thead th { background: var(--panel); font-weight: 600; position: sticky; top: 0; }
tbody tr:hover { background: #f3f6fa; }
.align-right { text-align: right; font-variant-numeric: tabular-nums; }
.align-center { text-align: center; }
table.kv { width: 100%; }
table.kv th { width: 14em; color: var(--muted); font-weight: 500; }
table.kv.nested { font-size: 0.95em; }
table.kv.nested th, table.kv.nested td { padding: 2px 8px 2px 0; border: none; }
figure.figure { margin: 16px 0; }
.plot { width: 100%; }
.plot-error { color: var(--warn); background: var(--warn-bg); padding: 12px; border-radius: 6px; }
figcaption { color: var(--muted); font-size: 0.9rem; max-width: 75ch; margin-top: 4px; }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 20px; }
.column { min-width: 0; }
details { margin: 10px 0; }
summary { cursor: pointer; font-weight: 600; }
.callout { border-left: 4px solid var(--accent); background: #ddf4ff; padding: 8px 14px; border-radius: 4px; margin: 12px 0; }
.callout.warning { border-color: var(--warn); background: var(--warn-bg); }
.token-block { margin: 10px 0; }
.tokens { line-height: 1.9; white-space: pre-wrap; overflow-wrap: anywhere; }
.tok { padding: 1px 0; border-radius: 3px; box-shadow: inset -1px 0 0 rgba(255,255,255,0.6); cursor: default; }
.tok-highlight { outline: 2px solid #e69f00; outline-offset: 0; }
.tok-nl, .tok-empty { opacity: 0.6; }
table.contexts td { border: none; padding: 2px 8px; }
table.contexts td.ctx-label { color: var(--muted); white-space: nowrap; font-variant-numeric: tabular-nums; }
.scale-legend { display: flex; align-items: center; gap: 8px; color: var(--muted); font-size: 0.8rem; margin-top: 4px; }
.scale-bar { display: inline-block; width: 160px; height: 10px; border-radius: 2px; border: 1px solid var(--border); }
footer.page { margin-top: 48px; color: var(--muted); font-size: 0.85rem; border-top: 1px solid var(--border); padding-top: 8px; }
@media (max-width: 640px) { main { padding: 16px 12px 48px; } table.kv th { width: auto; } }
@media print { .modebar { display: none !important; } }
`;
