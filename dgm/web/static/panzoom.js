// Pan (drag) and zoom (wheel, buttons) for the lineage SVG, by moving its viewBox. Ours, no library.
(function () {
  const svg = document.getElementById("tree");
  if (!svg) return;
  const full = { x: 0, y: 0, w: +svg.dataset.width, h: +svg.dataset.height };
  let view = Object.assign({}, full);
  const box = svg.getBoundingClientRect();
  // start readable: at most ~60 rows tall, keeping the aspect of the box
  if (full.h > 1000) { view.h = 1000; view.w = Math.max(full.w, 1000 * box.width / Math.max(box.height, 1)); }
  const apply = () => svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`);
  const zoom = (factor, cx, cy) => {
    const px = cx === undefined ? view.x + view.w / 2 : cx, py = cy === undefined ? view.y + view.h / 2 : cy;
    view = { x: px - (px - view.x) * factor, y: py - (py - view.y) * factor, w: view.w * factor, h: view.h * factor };
    apply();
  };
  const toSvg = (ev) => {
    const r = svg.getBoundingClientRect();
    return [view.x + (ev.clientX - r.left) / r.width * view.w, view.y + (ev.clientY - r.top) / r.height * view.h];
  };
  svg.addEventListener("wheel", (ev) => { ev.preventDefault(); const [x, y] = toSvg(ev); zoom(ev.deltaY > 0 ? 1.2 : 1 / 1.2, x, y); }, { passive: false });
  let drag = null, moved = false;
  svg.addEventListener("mousedown", (ev) => { drag = { x: ev.clientX, y: ev.clientY, view: Object.assign({}, view) }; moved = false; });
  window.addEventListener("mousemove", (ev) => {
    if (!drag) return;
    const r = svg.getBoundingClientRect();
    const dx = (ev.clientX - drag.x) / r.width * view.w, dy = (ev.clientY - drag.y) / r.height * view.h;
    if (Math.abs(ev.clientX - drag.x) + Math.abs(ev.clientY - drag.y) > 3) moved = true;
    view.x = drag.view.x - dx; view.y = drag.view.y - dy; apply();
  });
  window.addEventListener("mouseup", () => { drag = null; });
  svg.addEventListener("click", (ev) => { if (moved) { ev.preventDefault(); moved = false; } }, true);
  document.getElementById("zoom-in").onclick = () => zoom(1 / 1.5);
  document.getElementById("zoom-out").onclick = () => zoom(1.5);
  document.getElementById("zoom-reset").onclick = () => { view = Object.assign({}, full); apply(); };
  apply();
})();
