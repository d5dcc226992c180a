// A small SVG chart: time on x, one or more series as lines or grouped
// bars, a y axis with nice ticks, native tooltips. Colours come from CSS
// classes (s0, s1, …), so there are no inline styles for the CSP to block.

const NS = "http://www.w3.org/2000/svg";
const W = 640, H = 200, L = 64, R = 12, T = 10, B = 26;

function svg(tag, attrs, ...kids) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const k of kids) el.appendChild(typeof k === "string" ? document.createTextNode(k) : k);
  return el;
}

// niceMax is the top of the y axis: four ticks, each 1, 2 or 5 times a
// power of ten (whole numbers for counts).
function niceMax(v, integer) {
  if (!(v > 0)) return integer ? 4 : 1;
  const step = v / 4;
  const p = Math.pow(10, Math.floor(Math.log10(step)));
  let nice = 10 * p;
  for (const m of [1, 2, 5]) if (m * p >= step) { nice = m * p; break; }
  if (integer) nice = Math.max(1, Math.ceil(nice));
  return 4 * nice;
}

// chart returns a <figure>. times: Date[]; series: [{name, values, kind: "line"|"bar"}],
// where a null value is a gap in a line; fmt formats a y value, label a time
// on the x axis; integer keeps the y ticks whole.
export function chart({ title, times, series, fmt = String, label, id, integer = false }) {
  const n = times.length;
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values.filter((v) => v !== null))), integer);
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
    let d = "", pen = "M";
    s.values.forEach((v, i) => {
      if (v === null) { pen = "M"; return; }
      d += pen + x(i).toFixed(1) + " " + y(v).toFixed(1) + " ";
      pen = "L";
    });
    if (d) root.appendChild(svg("path", { d, class: "line " + cls }));
    s.values.forEach((v, i) => {
      if (!v) return; // no dot on zero or gaps
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
