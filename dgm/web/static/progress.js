// Live progress: poll /api/status every 2 s and redraw the tables (text only: no HTML from data).
(function () {
  const cell = (tr, text, tag) => { const td = document.createElement(tag || "td"); td.textContent = text; tr.appendChild(td); };
  const table = (id, header, rows, empty) => {
    const t = document.getElementById(id); t.replaceChildren();
    const h = document.createElement("tr"); header.forEach((x) => cell(h, x, "th")); t.appendChild(h);
    if (!rows.length) { const tr = document.createElement("tr"); cell(tr, empty); t.appendChild(tr); }
    rows.forEach((r) => { const tr = document.createElement("tr"); r.forEach((x) => cell(tr, x)); t.appendChild(tr); });
  };
  async function refresh() {
    try {
      const s = await (await fetch("/api/status", { credentials: "same-origin" })).json();
      document.getElementById("daemon").textContent = s.daemon_running ? "daemon running" : "no daemon running";
      const cards = document.getElementById("summary"); cards.replaceChildren();
      [["agents", `${s.agents} (${s.valid} valid, ${s.invalid} invalid)`], ["best", s.best_id ? `${s.best_id} ${(+s.best_score).toFixed(3)}` : "-"],
       ["spend", `$${(+s.spend_usd).toFixed(4)}` + (s.budget_usd ? ` of $${s.budget_usd}` : " (no budget set)") + (s.dry_run ? " (made-up prices)" : "")]]
        .forEach(([k, v]) => { const d = document.createElement("div"); d.textContent = `${k}: ${v}`; cards.appendChild(d); });
      const inflight = s.in_flight || [];
      const keys = inflight.length ? Object.keys(inflight[0]) : ["iteration"];
      table("in-flight", keys, inflight.map((f) => keys.map((k) => String(f[k]))), "nothing in flight");
      table("events", ["time", "kind", "message"], (s.events || []).slice().reverse().map((e) => Array.isArray(e) ? e.map(String) : [e.time || e.created_at, e.kind, e.message]), "no events yet");
    } catch (err) { document.getElementById("daemon").textContent = "cannot reach the server"; }
  }
  refresh(); setInterval(refresh, 2000);
})();
