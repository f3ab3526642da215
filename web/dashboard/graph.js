// The job graph: a layered (left-to-right) layout of the JobGraph's vertices drawn as SVG.
//
// Input nodes: [{ id, name, status, parallelism, inputs: [{id, ship_strategy}], lines: [text],
// cls? }]. A vertex's layer is the longest path from a source; within a layer vertices are ordered
// by the barycentre of their neighbours (a few sweeps of the Sugiyama heuristic), which keeps
// edges from crossing in the usual pipeline and DAG shapes. Names are wrapped (never cut: the
// name text of a box is the vertex name exactly), boxes are coloured by execution status.

import { esc, stateClass } from './format.js';

const NODE_W = 256;
const PAD_X = 12;
const LINE_H = 16;
const HEADER_H = 22;
const GAP_X = 110;
const GAP_Y = 28;
const MARGIN = 20;
const NAME_FONT = '600 13px system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';
const INFO_FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';

let measureCtx = null;

function textWidth(text, font) {
  if (measureCtx === null) {
    try {
      measureCtx = document.createElement('canvas').getContext('2d');
    } catch (e) {
      measureCtx = undefined;
    }
  }
  if (!measureCtx) return text.length * 7.2;
  measureCtx.font = font;
  return measureCtx.measureText(text).width;
}

/** Splits text into lines no wider than maxWidth; joining the lines gives the text back. */
export function wrap(text, maxWidth, font = NAME_FONT) {
  // Break opportunities: after spaces and after '(', '/', ',' (operator names such as
  // "Window(TumblingEventTimeWindows(3600000))" have no spaces).
  const tokens = String(text).match(/[^\s(/,]*[(/,]+\s*|[^\s(/,]+\s*|\s+/g) || [''];
  const lines = [];
  let line = '';
  const push = () => {
    if (line !== '') lines.push(line);
    line = '';
  };
  for (const token of tokens) {
    if (textWidth((line + token).trimEnd(), font) <= maxWidth) {
      line += token;
      continue;
    }
    push();
    if (textWidth(token.trimEnd(), font) <= maxWidth) {
      line = token;
      continue;
    }
    // A single word wider than the box: break it by characters.
    for (const ch of token) {
      if (line !== '' && textWidth((line + ch).trimEnd(), font) > maxWidth) push();
      line += ch;
    }
  }
  push();
  return lines.length ? lines : [''];
}

/** Longest-path layers; inputs naming unknown vertices are ignored, cycles are broken. */
function assignLayers(nodes) {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const layer = new Map();
  const visiting = new Set();
  const visit = (n) => {
    if (layer.has(n.id)) return layer.get(n.id);
    if (visiting.has(n.id)) return 0;
    visiting.add(n.id);
    let l = 0;
    for (const input of n.inputs || []) {
      const up = byId.get(input.id);
      if (up) l = Math.max(l, visit(up) + 1);
    }
    visiting.delete(n.id);
    layer.set(n.id, l);
    return l;
  };
  nodes.forEach(visit);
  return layer;
}

function orderLayers(nodes, layerOf) {
  const layers = [];
  for (const n of nodes) {
    const l = layerOf.get(n.id);
    (layers[l] ||= []).push(n);
  }
  const preds = new Map(nodes.map((n) => [n.id, []]));
  const succs = new Map(nodes.map((n) => [n.id, []]));
  for (const n of nodes) {
    for (const input of n.inputs || []) {
      if (!preds.has(input.id)) continue;
      preds.get(n.id).push(input.id);
      succs.get(input.id).push(n.id);
    }
  }
  const pos = new Map();
  const index = () => layers.forEach((ns) => ns.forEach((n, i) => pos.set(n.id, i / Math.max(1, ns.length - 1))));
  index();
  const sweep = (neighbours, from, to, step) => {
    for (let l = from; l !== to; l += step) {
      const ns = layers[l];
      if (!ns) continue;
      const key = new Map(ns.map((n, i) => {
        const ps = neighbours.get(n.id).filter((id) => pos.has(id));
        const b = ps.length ? ps.reduce((a, id) => a + pos.get(id), 0) / ps.length : pos.get(n.id);
        return [n.id, b + i * 1e-6]; // stable for ties
      }));
      ns.sort((a, b) => key.get(a.id) - key.get(b.id));
      ns.forEach((n, i) => pos.set(n.id, i / Math.max(1, ns.length - 1)));
    }
  };
  for (let i = 0; i < 4; i += 1) {
    sweep(preds, 1, layers.length, 1);
    sweep(succs, layers.length - 2, -1, -1);
  }
  return layers.map((ns) => ns || []);
}

/** Computes boxes: {id, x, y, w, h, nameLines, node}; and the canvas size. */
export function layout(nodes) {
  const layerOf = assignLayers(nodes);
  const layers = orderLayers(nodes, layerOf);
  const boxes = new Map();
  const heights = [];
  layers.forEach((ns, l) => {
    let y = 0;
    for (const n of ns) {
      const nameLines = wrap(n.name, NODE_W - 2 * PAD_X);
      const h = HEADER_H + 8 + nameLines.length * LINE_H + 6 + (n.lines || []).length * LINE_H + 8;
      boxes.set(n.id, { id: n.id, x: MARGIN + l * (NODE_W + GAP_X), y, w: NODE_W, h, nameLines, node: n });
      y += h + GAP_Y;
    }
    heights[l] = Math.max(0, y - GAP_Y);
  });
  const maxH = Math.max(0, ...heights);
  layers.forEach((ns, l) => {
    const offset = MARGIN + (maxH - heights[l]) / 2;
    for (const n of ns) boxes.get(n.id).y += offset;
  });
  const width = MARGIN * 2 + Math.max(1, layers.length) * NODE_W + Math.max(0, layers.length - 1) * GAP_X;
  return { boxes, width, height: maxH + MARGIN * 2 };
}

function edgesSvg(nodes, boxes) {
  const parts = [];
  const labels = [];
  for (const n of nodes) {
    const to = boxes.get(n.id);
    const inputs = (n.inputs || []).filter((i) => boxes.has(i.id));
    inputs.forEach((input, k) => {
      const from = boxes.get(input.id);
      const x1 = from.x + from.w;
      const y1 = from.y + from.h / 2;
      const x2 = to.x - 2;
      const y2 = to.y + (to.h * (k + 1)) / (inputs.length + 1);
      const dx = Math.max(40, (x2 - x1) / 2);
      parts.push(`<path class="edge" d="M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}" ` +
                 `marker-end="url(#arrow)" data-from="${esc(input.id)}" data-to="${esc(n.id)}"/>`);
      const strategy = input.ship_strategy || '';
      if (strategy) {
        const lx = (x1 + x2) / 2;
        const ly = (y1 + y2) / 2;
        const w = textWidth(strategy, INFO_FONT) + 10;
        labels.push(`<g class="edge-label"><rect x="${lx - w / 2}" y="${ly - 9}" width="${w}" ` +
                    `height="18" rx="4"/><text x="${lx}" y="${ly + 4}" text-anchor="middle">` +
                    `${esc(strategy)}</text></g>`);
      }
    });
  }
  return parts.join('') + labels.join('');
}

function nodeSvg(box, selected) {
  const n = box.node;
  const cls = stateClass(n.status);
  const x = box.x;
  const y = box.y;
  const tx = x + PAD_X;
  let ty = y + HEADER_H + 8 + 12;
  const name = box.nameLines
    .map((line, i) => `<tspan x="${tx}" ${i === 0 ? `y="${ty}"` : `dy="${LINE_H}"`}>${esc(line)}</tspan>`)
    .join('');
  ty += (box.nameLines.length - 1) * LINE_H + 6;
  const info = (n.lines || [])
    .map((line) => {
      ty += LINE_H;
      const text = typeof line === 'string' ? line : line.text;
      const lcls = typeof line === 'string' ? '' : line.cls || '';
      const key = typeof line === 'string' ? '' : line.key || '';
      return `<text class="vinfo ${esc(lcls)}" x="${tx}" y="${ty}" data-key="${esc(key)}">${esc(text)}</text>`;
    })
    .join('');
  const header = `${n.status || 'UNKNOWN'}  ·  parallelism ${n.parallelism ?? '?'}`;
  return `<g class="vertex ${cls}${selected ? ' selected' : ''}" data-vid="${esc(n.id)}" ` +
    `data-status="${esc(n.status || '')}" tabindex="0" role="button">` +
    `<title>${esc(n.name)}</title>` +
    `<rect class="vbox" x="${x}" y="${y}" width="${box.w}" height="${box.h}" rx="8"/>` +
    `<path class="vhead" d="M${x},${y + HEADER_H} v${8 - HEADER_H} a8,8 0 0 1 8,-8 ` +
    `h${box.w - 16} a8,8 0 0 1 8,8 v${HEADER_H - 8} z"/>` +
    `<text class="vstatus" x="${tx}" y="${y + 15}">${esc(header)}</text>` +
    `<text class="vname" x="${tx}" y="${y + HEADER_H + 20}">${name}</text>` +
    info + '</g>';
}

/** The SVG markup of the graph; `selected` is the id of a highlighted vertex (or null). */
export function renderGraph(nodes, selected = null) {
  if (!nodes.length) return '<p class="muted">This job has no vertices.</p>';
  const { boxes, width, height } = layout(nodes);
  const body = edgesSvg(nodes, boxes) +
    nodes.map((n) => nodeSvg(boxes.get(n.id), n.id === selected)).join('');
  // Shrinks to fit the page down to 70% (CSS max-width), scrolls beyond.
  return `<svg class="job-graph" xmlns="http://www.w3.org/2000/svg" width="${width}" ` +
    `height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="job graph" ` +
    `style="min-width:${Math.round(width * 0.7)}px">` +
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" ' +
    'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" ' +
    'class="arrowhead"/></marker></defs>' + body + '</svg>';
}
