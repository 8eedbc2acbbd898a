// The panel's styles, loaded with the interface on first open (the loader's, for the launcher
// and the colours, are in widget/styles.ts). Under 480 px wide the open panel is the whole
// screen, framed by the safe areas (a notch, a home bar).
import { dark } from '../styles.ts'

export const PANEL_CSS = `
[hidden]{display:none!important}
.mq{--bg:var(--mqchat-bg,#fff);--muted:var(--mqchat-muted,#54595f);--theirs:var(--mqchat-theirs,#eef0f3);--mine:var(--mqchat-mine,var(--accent));--mine-fg:var(--mqchat-mine-text,var(--accent-fg));
--line:#dde0e4;--soft:#e9ecef;--hover:rgba(120,128,140,.14);--radius:var(--mqchat-radius,16px);--warn:#6b4200;--warn-bg:#fff3d6;--log:var(--mqchat-log-bg,var(--bg))}
${dark('--bg:var(--mqchat-bg,#1b1d21);--muted:var(--mqchat-muted,#b4bac2);--theirs:var(--mqchat-theirs,#2c3037);--line:#3a3f47;--soft:#30343b;--hover:rgba(200,205,215,.12);--warn:#ffe1a3;--warn-bg:#4a3500')}
.docked.open .mount{display:block;position:fixed;bottom:calc(var(--y) + 68px);inset-inline-end:var(--x);z-index:2147483000;width:min(var(--mqchat-width,380px),calc(100vw - 32px));height:min(var(--mqchat-height,620px),calc(100vh - var(--y) - 92px))}
.left.open .mount{left:var(--x);right:auto}.right.open .mount{right:var(--x);left:auto}
.panel{box-sizing:border-box;height:100%;display:flex;flex-direction:column;position:relative;background:var(--bg);color:var(--fg);border:1px solid var(--line);border-radius:var(--radius);overflow:hidden;box-shadow:0 12px 40px rgba(0,0,0,.22)}
.panel *{box-sizing:border-box}
.mq button{font:inherit;color:inherit;background:none;border:0;border-radius:8px;padding:6px 8px;cursor:pointer}
.mq button.primary{background:var(--accent);color:var(--accent-fg);font-weight:600}
.icon{display:block;flex:none}
.icon-btn{display:inline-flex!important;align-items:center;justify-content:center;width:38px;height:38px;padding:0!important;border-radius:50%!important;flex:none}
.icon-btn:hover{background:var(--hover)}
[dir=rtl] .back .icon,[dir=rtl] .send .icon{transform:scaleX(-1)}
.head{display:flex;align-items:center;gap:10px;padding:10px 10px 10px 14px;padding-inline:14px 10px;min-height:62px;flex:none;border-bottom:1px solid var(--line)}
.head.main{background:var(--accent);color:var(--accent-fg);border-bottom:0;padding-block:14px}
.head.main .icon-btn:hover{background:rgba(255,255,255,.18)}
.head h2{font-size:18px;margin:0;line-height:1.25}
.brand{flex:1;min-width:0}
.greeting{margin:3px 0 0;font-size:14px;line-height:1.35}
.conv .head{padding-inline-start:6px;gap:8px}
.conv .head .who{flex:1}
.actions{display:flex;gap:2px}
.actions:empty{display:none}
.banner{margin:0;padding:8px 14px;background:var(--warn-bg);color:var(--warn);font-size:14px;flex:none}
.banner:empty{display:none}
.note{margin:0;padding:8px 14px;background:var(--hover);font-size:14px;flex:none}
.note:empty{display:none}
.head.main .notify[aria-pressed=true] svg{fill:currentColor}
.view{display:flex;flex-direction:column;flex:1;min-height:0}
.contacts{list-style:none;margin:0;padding:6px;overflow:auto;flex:1}
.contacts li button{display:flex;width:100%;align-items:center;gap:12px;text-align:start;padding:10px;border-radius:12px}
.contacts li button:hover{background:var(--hover)}
.avatar{position:relative;flex:none;width:42px;height:42px}
.conv .avatar{width:38px;height:38px}
.face{width:100%;height:100%;border-radius:50%;background:var(--soft);color:var(--fg);object-fit:cover;display:flex;align-items:center;justify-content:center;font-weight:600;font-size:16px}
.avatar .dot{position:absolute;bottom:-1px;inset-inline-end:-1px;width:13px;height:13px;border:2px solid var(--bg);border-radius:50%;background:#8a9099}
.dot.online{background:#1e9e4a}.dot.away{background:#d08700}.dot.busy{background:#c8102e}
.who{min-width:0;flex:1;display:flex;flex-direction:column;gap:2px}
.line{display:flex;align-items:center;gap:8px;min-width:0}
.name{font-weight:600;flex:1;min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.when{font-size:12px;color:var(--muted);flex:none}
.preview,.presence{flex:1;min-width:0;font-size:14px;color:var(--muted);overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.presence{font-size:13px}
li.unread .preview{color:var(--fg);font-weight:600}
.count{background:var(--accent);color:var(--accent-fg);border-radius:10px;padding:0 7px;font-size:12px;font-weight:700;line-height:20px;min-width:20px;text-align:center;flex:none}
.more{display:block;margin:6px auto;text-decoration:underline;color:var(--fg)}
.empty{padding:28px 16px;color:var(--muted);text-align:center}
.log{list-style:none;margin:0;padding:8px 14px 12px;overflow-y:auto;flex:1;min-height:0;display:flex;flex-direction:column;background:var(--log)}
.log.empty-log::after{content:attr(data-empty);margin:auto;color:var(--muted);text-align:center}
.day{align-self:center;margin:14px 0 4px;font-size:12px;color:var(--muted)}
.day span{background:var(--soft);padding:3px 10px;border-radius:10px}
.msg{max-width:80%;padding:7px 12px 5px;border-radius:18px;background:var(--theirs);color:var(--fg);white-space:pre-wrap;overflow-wrap:anywhere;align-self:flex-start;margin-top:10px}
.msg.cont{margin-top:2px}
.msg:not(.mine).cont{border-start-start-radius:6px}.msg:not(.mine):not(.ends){border-end-start-radius:6px}
.msg.mine{background:var(--mine);color:var(--mine-fg);align-self:flex-end}
.msg.mine.cont{border-start-end-radius:6px}.msg.mine:not(.ends){border-end-end-radius:6px}
.meta{display:flex;justify-content:flex-end;align-items:center;gap:3px;font-size:11px;line-height:16px;color:var(--muted);white-space:nowrap}
.mine .meta{color:inherit;opacity:.9}
.msg.bare{background:none;padding:0}
.mine.bare .meta,.notice .meta{color:var(--muted);opacity:1}
.msg.media{padding:4px 4px 3px}
.media .meta{padding-inline-end:6px}
.msg.notice{align-self:center;background:none;color:var(--muted);font-size:13px;display:flex;align-items:center;gap:6px;padding:4px 8px;margin-top:10px}
.call{display:inline-flex;align-items:center;gap:6px}
.thumb{display:block;border-radius:14px;overflow:hidden}
.thumb img{display:block;width:220px;max-width:100%;max-height:260px;min-height:60px;object-fit:cover;background:var(--soft)}
.msg img.sticker{width:96px;height:96px;display:block}
.voice{display:flex;align-items:center;gap:10px;min-width:190px;padding:2px 0}
.mq .play{width:36px;height:36px;padding:0;border-radius:50%;background:var(--accent);color:var(--accent-fg);display:inline-flex;align-items:center;justify-content:center;flex:none}
.mine .play{background:var(--mine-fg);color:var(--mine)}
.bar{flex:1;height:4px;border-radius:2px;background:rgba(127,127,127,.35);overflow:hidden}
.fill{display:block;height:100%;width:0;background:currentColor}
.len{font-size:12px;font-variant-numeric:tabular-nums;min-width:30px}
.viewer{position:absolute;inset:0;z-index:5;background:rgba(10,12,15,.9);display:flex;align-items:center;justify-content:center;padding:20px}
.viewer img{max-width:100%;max-height:100%;border-radius:8px}
.viewer .icon-btn{position:absolute;top:10px;inset-inline-end:10px;color:#fff;background:rgba(0,0,0,.5)}
.typing{margin:0;padding:0 16px;min-height:18px;font-size:13px;line-height:18px;color:var(--muted);background:var(--log);flex:none}
.composer{display:flex;flex-wrap:wrap;align-items:center;gap:6px;padding:8px 10px 10px;border-top:1px solid var(--line);flex:none}
.composer textarea{flex:1 1 100%;order:-1;min-width:0;resize:none;font:inherit;color:var(--fg);background:var(--bg);border:1px solid var(--line);border-radius:20px;padding:9px 14px;height:42px;max-height:120px}
.composer textarea::placeholder{color:var(--muted)}
.mq .composer textarea:focus-visible{outline:none;border-color:var(--accent);box-shadow:0 0 0 1px var(--accent)}
.tools{display:flex;gap:2px;flex:1;min-width:0}
.mq .tools button{width:38px;height:38px;padding:0;display:inline-flex;align-items:center;justify-content:center;border-radius:50%;color:var(--muted)}
.mq .tools button:hover,.mq .tools [aria-expanded=true]{background:var(--hover);color:var(--fg)}
.mq .tools [aria-pressed=true]{background:#c8102e;color:#fff}
.mq .send{display:inline-flex;align-items:center;gap:6px;white-space:nowrap;border-radius:20px;padding:0 16px;height:38px;flex:none}
.picker{display:flex;flex-wrap:wrap;gap:2px;padding:8px;border-top:1px solid var(--line);max-height:150px;overflow:auto;flex:none}
.picker button{font-size:22px;padding:2px 6px;font-family:"Noto Color Emoji","Apple Color Emoji","Segoe UI Emoji",inherit}
.picker button.smiley{font-size:15px;font-family:inherit;min-width:44px}
.picker img{width:48px;height:48px}
.cam video{width:100%;max-height:200px;background:#000;border-radius:8px}
@media (max-width:480px){
.docked.open .mount{inset:0;width:auto;height:auto;background:var(--bg);padding:env(safe-area-inset-top) env(safe-area-inset-right) env(safe-area-inset-bottom) env(safe-area-inset-left)}
.docked.open .panel{border:0;border-radius:0;box-shadow:none}
.docked.open .launcher{display:none}
.composer textarea{font-size:16px}
}
`
