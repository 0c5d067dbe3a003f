// The contribution tree as a collapsible SVG chart: one row per visible node, indented by
// depth, with a bar for the node's share of the product total. Click (or Enter/Space on)
// a node to select it; nodes with contributors expand and collapse.
"use strict";

const ContributionChart = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const ROW = 34, INDENT = 26, BOX_W = 660, BOX_H = 26, PAD = 12;
  // Room for a label before the value at the right (about 7 px per character at 12.5 px).
  const LABEL_CHARS = 66;
  const KIND_COLOUR = { footprint: "#2e6f95", own: "#3f9a6b", factor: "#d08a2c", undisclosed: "#5b5f66", other: "#9aa7a2" };

  function svgEl(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Give every node an id, a parent link and an expanded flag (root open, the rest closed).
  function prepare(node, depth = 0, parent = null, ids = { next: 0 }) {
    node._id = ids.next++;
    node._depth = depth;
    node._parent = parent;
    node._expanded = depth === 0;
    for (const child of node.children) prepare(child, depth + 1, node, ids);
    return node;
  }

  function visibleRows(root) {
    const rows = [];
    (function walk(node) {
      rows.push(node);
      if (node._expanded) node.children.forEach(walk);
    })(root);
    return rows;
  }

  class Chart {
    constructor(container, tree, options) {
      this.container = container;
      this.root = prepare(tree);
      this.labelOf = options.labelOf;
      this.valueOf = options.valueOf;
      this.onSelect = options.onSelect || (() => {});
      this.selected = null;
      this.render();
    }

    toggle(node) {
      if (node.children.length) node._expanded = !node._expanded;
      this.select(node);
    }

    select(node) {
      this.selected = node;
      this.render();
      this.onSelect(node);
    }

    expandAll() {
      (function walk(n) { n._expanded = true; n.children.forEach(walk); })(this.root);
      this.render();
    }

    // Back to the first view: the root open, every other node closed.
    collapseAll() {
      (function walk(n) { n._expanded = !n._parent; n.children.forEach(walk); })(this.root);
      this.render();
    }

    render() {
      const rows = visibleRows(this.root);
      const maxDepth = Math.max(...rows.map((n) => n._depth));
      const width = PAD * 2 + maxDepth * INDENT + BOX_W + 20;
      const height = PAD * 2 + rows.length * ROW;
      const svg = svgEl("svg", {
        width, height, viewBox: `0 0 ${width} ${height}`, role: "tree",
        "aria-label": "Contribution tree",
      });
      const position = new Map(rows.map((n, i) => [n, { x: PAD + n._depth * INDENT + 14, y: PAD + i * ROW }]));
      // Elbow links from each expanded parent to its visible children.
      for (const node of rows) {
        if (!node._parent) continue;
        const p = position.get(node._parent), c = position.get(node);
        const x = p.x - 1, y0 = p.y + BOX_H, y1 = c.y + BOX_H / 2;
        svg.appendChild(svgEl("path", { class: "link", d: `M${x},${y0} V${y1} H${c.x}` }));
      }
      for (const node of rows) svg.appendChild(this.nodeGroup(node, position.get(node)));
      this.container.replaceChildren(svg);
      if (this.selected && this.focusAfterRender) {
        const g = svg.querySelector(`[data-node-id="${this.selected._id}"]`);
        if (g) g.focus();
      }
    }

    nodeGroup(node, at) {
      const hasChildren = node.children.length > 0;
      const g = svgEl("g", {
        class: "node" + (node === this.selected ? " selected" : ""),
        transform: `translate(${at.x},${at.y})`,
        tabindex: 0,
        role: "treeitem",
        "data-node-id": node._id,
        "data-kind": node.kind,
        "data-depth": node._depth,
        "data-has-children": hasChildren,
        "aria-level": node._depth + 1,
      });
      if (hasChildren) g.setAttribute("aria-expanded", String(node._expanded));
      const share = Math.max(0, Math.min(1, Number(node.share) / 100)); // served as a percent
      g.appendChild(svgEl("rect", { class: "box", width: BOX_W, height: BOX_H, rx: 4 }));
      g.appendChild(svgEl("rect", {
        class: "fill", x: 1, y: BOX_H - 5, height: 4, rx: 2,
        width: Math.max(2, (BOX_W - 2) * share), fill: KIND_COLOUR[node.kind] || "#9aa7a2",
      }));
      const label = this.labelOf(node);
      g.appendChild(svgEl("text", { class: "label", x: hasChildren ? 22 : 8, y: 16 }, truncate(label, LABEL_CHARS)));
      g.appendChild(svgEl("text", { class: "value", x: BOX_W - 8, y: 16, "text-anchor": "end" },
        this.valueOf(node)));
      g.appendChild(svgEl("title", {}, label));
      if (hasChildren) {
        g.appendChild(svgEl("circle", { class: "toggle", cx: 10, cy: BOX_H / 2 - 1, r: 7 }));
        g.appendChild(svgEl("text", { class: "toggle-sign", x: 10, y: BOX_H / 2 + 3.5 },
          node._expanded ? "−" : "+"));
      }
      g.addEventListener("click", () => { this.focusAfterRender = false; this.toggle(node); });
      g.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" || ev.key === " ") {
          ev.preventDefault();
          this.focusAfterRender = true;
          this.toggle(node);
        }
      });
      return g;
    }
  }

  function truncate(text, n) {
    return text.length > n ? text.slice(0, n - 1) + "…" : text;
  }

  return { Chart, KIND_COLOUR };
})();
