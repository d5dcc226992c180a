// A small SVG chart: time on x, one or more series as lines or grouped
// bars, a y axis with nice ticks, native tooltips. Colours come from CSS
// classes (s0, s1, …), so there are no inline styles for the CSP to block.

const NS = "http://www.w3.org/2000/svg";
const W = 640, H = 200, L = 56, R = 12, T = 10, B = 26;

function svg(tag, attrs, ...kids) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const k of kids) el.appendChild(typeof k === "string" ? document.createTextNode(k) : k);
  return el;
}

// niceMax rounds up to 1, 2 or 5 times a power of ten.
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// chart returns a <figure>. times: Date[]; series: [{name, values, kind: "line"|"bar"}];
// fmt formats a y value; label formats a time for the x axis.
export function chart({ title, times, series, fmt = String, label, id }) {
  const n = times.length;
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const pw = W - L - R, ph = H - T - B;
  const x = (i) => L + (n <= 1 ? pw / 2 : (i + 0.5) * (pw / n));
  const y = (v) => T + ph - (v / max) * ph;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": title });

  for (let k = 0; k <= 4; k++) { // grid and y ticks
    const v = (max * k) / 4;
    root.appendChild(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }));
    root.appendChild(svg("text", { x: L - 6, y: y(v) + 4, class: "tick", "text-anchor": "end" }, fmt(v)));
  }
  const every = Math.max(1, Math.ceil(n / 8)); // at most ~8 x labels
  for (let i = 0; i < n; i += every) {
    root.appendChild(svg("text", { x: x(i), y: H - 8, class: "tick", "text-anchor": "middle" }, label(times[i])));
  }

  const bars = series.filter((s) => s.kind === "bar");
  const slot = (pw / Math.max(n, 1)) * 0.8;
  const bw = Math.max(1, slot / Math.max(bars.length, 1));
  series.forEach((s, si) => {
    const cls = "s" + si;
    if (s.kind === "bar") {
      const bi = bars.indexOf(s);
      s.values.forEach((v, i) => {
        if (!v) return;
        const r = svg("rect", { x: x(i) - slot / 2 + bi * bw, y: y(v), width: bw, height: Math.max(0.5, T + ph - y(v)), class: "bar " + cls });
        r.appendChild(svg("title", {}, `${label(times[i])} · ${s.name}: ${fmt(v)}`));
        root.appendChild(r);
      });
      return;
    }
    const d = s.values.map((v, i) => (i === 0 ? "M" : "L") + x(i).toFixed(1) + " " + y(v).toFixed(1)).join(" ");
    if (n > 0) root.appendChild(svg("path", { d, class: "line " + cls }));
    s.values.forEach((v, i) => {
      if (!v) return;
      const c = svg("circle", { cx: x(i), cy: y(v), r: 2.5, class: "dot " + cls });
      c.appendChild(svg("title", {}, `${label(times[i])} · ${s.name}: ${fmt(v)}`));
      root.appendChild(c);
    });
  });

  const fig = document.createElement("figure");
  fig.className = "chart-box";
  if (id) fig.id = id;
  const cap = document.createElement("figcaption");
  const t = document.createElement("span");
  t.className = "chart-title";
  t.textContent = title;
  cap.appendChild(t);
  series.forEach((s, si) => {
    const key = document.createElement("span");
    key.className = "legend s" + si;
    key.textContent = s.name;
    cap.appendChild(key);
  });
  fig.append(cap, root);
  return fig;
}
