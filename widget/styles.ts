// The widget's styles, inside its shadow root: the host page's CSS does not reach in, and ours
// does not leak out. Light and dark follow the visitor's system; colours keep WCAG AA contrast.

export const LOADER_CSS = `
:host{all:initial}
.mq{--bg:#fff;--fg:#111;--muted:#4a4a4a;--accent:#1a56db;--accent-fg:#fff;--mine:#e8effd;--theirs:#f1f1f1;--line:#d0d0d0;--warn:#7a4b00;--warn-bg:#fff3d6;
font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans Arabic",sans-serif;color:var(--fg)}
@media (prefers-color-scheme:dark){.mq{--bg:#1d1f23;--fg:#f1f1f1;--muted:#c4c4c4;--accent:#8ab4ff;--accent-fg:#0b1a33;--mine:#23365c;--theirs:#2c2f35;--line:#444;--warn:#ffe1a3;--warn-bg:#4a3500}}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.docked .launcher{position:fixed;bottom:20px;inset-inline-end:20px;z-index:2147483000;border:0;border-radius:28px;padding:14px 20px;background:var(--accent);color:var(--accent-fg);font:inherit;font-weight:600;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;gap:8px;align-items:center}
.launcher:focus-visible,.mq button:focus-visible,.mq textarea:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.launcher:focus-visible{outline-color:var(--fg)}
.badge{background:#b00020;color:#fff;border-radius:10px;padding:0 7px;font-size:13px;min-width:20px;text-align:center}
.docked .mount{display:none}
.docked.open .mount{display:block;position:fixed;bottom:84px;inset-inline-end:20px;z-index:2147483000;width:min(380px,calc(100vw - 40px));height:min(560px,calc(100vh - 110px))}
.mq.embedded{display:block;height:100%}
.embedded .mount{display:block;height:100%;min-height:420px}
`

export const PANEL_CSS = `
[hidden]{display:none!important}
.panel{box-sizing:border-box;height:100%;display:flex;flex-direction:column;background:var(--bg);color:var(--fg);border:1px solid var(--line);border-radius:12px;overflow:hidden;box-shadow:0 8px 30px rgba(0,0,0,.25)}
.panel *{box-sizing:border-box}
.head{display:flex;align-items:center;gap:8px;padding:10px 12px;border-bottom:1px solid var(--line)}
.head h2{font-size:16px;margin:0;flex:1}
.mq button{font:inherit;color:inherit;background:none;border:1px solid transparent;border-radius:6px;padding:6px 8px;cursor:pointer}
.mq button.primary{background:var(--accent);color:var(--accent-fg)}
.banner{margin:0;padding:8px 12px;background:var(--warn-bg);color:var(--warn);font-size:14px}
.banner:empty{display:none}
.contacts{list-style:none;margin:0;padding:4px;overflow:auto;flex:1}
.contacts li button{display:flex;width:100%;align-items:center;gap:10px;text-align:start;padding:8px}
.contacts li button:hover{background:var(--theirs)}
.avatar{width:36px;height:36px;border-radius:50%;background:var(--theirs);object-fit:cover;flex:none;position:relative;display:flex;align-items:center;justify-content:center;font-weight:600}
.who{flex:1;min-width:0;display:flex;flex-direction:column}
.name{font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.presence{font-size:13px;color:var(--muted)}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;background:#8a8a8a;margin-inline-end:5px}
.dot.online{background:#1e8e3e}.dot.away{background:#c77700}.dot.busy{background:#b00020}
.count{background:#b00020;color:#fff;border-radius:10px;padding:0 7px;font-size:13px}
.conv{display:flex;flex-direction:column;flex:1;min-height:0}
.log{list-style:none;margin:0;padding:8px 12px;overflow:auto;flex:1;display:flex;flex-direction:column;gap:6px}
.msg{max-width:80%;padding:6px 10px;border-radius:12px;background:var(--theirs);white-space:pre-wrap;overflow-wrap:anywhere;align-self:flex-start}
.msg.mine{background:var(--mine);align-self:flex-end}
.meta{display:block;font-size:12px;color:var(--muted);text-align:end}
.msg img{max-width:100%;max-height:200px;border-radius:8px;display:block}
.msg img.sticker{width:96px;height:96px}
.msg audio{max-width:100%}
.typing{margin:0;padding:0 12px;min-height:20px;font-size:13px;color:var(--muted)}
.composer{display:flex;gap:4px;align-items:center;padding:8px;border-top:1px solid var(--line);flex-wrap:wrap}
.composer textarea{flex:1 1 100%;order:-1;min-width:0;resize:none;font:inherit;color:var(--fg);background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:7px;height:38px;max-height:120px}
.tools{display:flex;gap:2px;flex:1}
.composer .primary{white-space:nowrap}
.picker{display:flex;flex-wrap:wrap;gap:2px;padding:6px;border-top:1px solid var(--line);max-height:140px;overflow:auto}
.picker button{font-size:20px;padding:2px 6px}
.picker img{width:48px;height:48px}
.cam video{width:100%;max-height:200px;background:#000}
.empty{padding:16px;color:var(--muted)}
`
