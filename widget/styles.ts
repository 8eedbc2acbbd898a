// The widget's styles, inside its shadow root: the host page's CSS does not reach in, and ours
// does not leak out, except the --mqchat-* custom properties a site sets on purpose (custom
// properties inherit through a shadow root; docs/widget.md lists them). Light, dark or the
// visitor's system (data-theme); colours keep WCAG AA contrast.
// LOADER_CSS is in widget.js (every page: the launcher only, kept small); the panel's own
// (widget/ui/styles.ts) comes with the interface on first open.

/** the dark values, for `.dark` and for `.auto` on a system in dark mode */
export const dark = (vars: string): string => `.mq.dark{${vars}}@media (prefers-color-scheme:dark){.mq.auto{${vars}}}`

export const LOADER_CSS = `
:host{all:initial}
.mq{--accent:var(--mqchat-accent,#1a56db);--accent-fg:var(--mqchat-accent-text,#fff);--fg:var(--mqchat-text,#14171a);--x:var(--mqchat-offset-x,20px);--y:var(--mqchat-offset-y,20px);
font:15px/1.4 var(--mqchat-font,system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans Arabic","DejaVu Sans",sans-serif);color:var(--fg)}
${dark('--accent:var(--mqchat-accent,#8ab4ff);--accent-fg:var(--mqchat-accent-text,#0b1a33);--fg:var(--mqchat-text,#eceff3)')}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.docked .launcher{position:fixed;bottom:var(--y);inset-inline-end:var(--x);z-index:2147483000;border:0;border-radius:28px;padding:0 20px 0 16px;height:56px;background:var(--accent);color:var(--accent-fg);font:inherit;font-weight:600;cursor:pointer;box-shadow:0 6px 20px rgba(0,0,0,.25);display:flex;gap:8px;align-items:center}
.left .launcher{left:var(--x);right:auto}.right .launcher{right:var(--x);left:auto}
.launcher:focus-visible,.mq button:focus-visible,.mq textarea:focus-visible,.mq a:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.launcher:focus-visible{outline-color:var(--fg)}
.badge{background:#b00020;color:#fff;border-radius:10px;padding:0 7px;font-size:13px;min-width:20px;text-align:center}
.docked .mount{display:none}
.mq.embedded{display:block;height:100%}
.embedded .mount{display:block;height:100%;min-height:420px}
`
