/* Draws the report charts with the vendored ECharts from the JSON the page embeds
   (#report-charts): each <div class="chart" data-chart="NAME"> gets chart NAME.
   Then the tables' column chooser (below). */
(function () {
  "use strict";
  var source = document.getElementById("report-charts");
  if (!source || !window.echarts) { return; }
  var data = JSON.parse(source.textContent);
  var red = "#c8102e", palette = ["#c8102e", "#1f4fbf", "#2e7d32", "#b26a00"];

  var builders = {
    trend: function (d) {
      return {
        color: palette,
        tooltip: { trigger: "axis" },
        // The legend below the axis labels, the grid clear of both (containLabel): they
        // never overlap, however long the labels or narrow the card.
        legend: { data: ["响应率", "解决率", "满意率", "综合得分"], bottom: 0, type: "scroll" },
        grid: { left: 8, right: 16, bottom: 36, top: 16, containLabel: true },
        xAxis: { type: "category", data: d.months, axisLabel: { hideOverlap: true } },
        yAxis: { type: "value", min: 0, max: 100 },
        series: [
          { name: "响应率", type: "line", data: d.response_rate, connectNulls: false },
          { name: "解决率", type: "line", data: d.resolution_rate },
          { name: "满意率", type: "line", data: d.satisfaction_rate },
          { name: "综合得分", type: "line", data: d.composite, lineStyle: { type: "dashed" } }
        ]
      };
    },
    ranking: function (d) {
      return {
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        grid: { left: 8, right: 40, bottom: 8, top: 10, containLabel: true },
        xAxis: { type: "value", min: 0, max: 100 },
        yAxis: { type: "category", data: d.units, axisLabel: { width: 150, overflow: "truncate" } },
        series: [{ type: "bar", data: d.values, itemStyle: { color: red }, label: { show: true, position: "right" } }]
      };
    },
    categories: function (d) {
      return {
        tooltip: { trigger: "item" },
        legend: { type: "scroll", bottom: 0 },
        series: [{
          type: "pie", radius: ["30%", "58%"], center: ["50%", "45%"], avoidLabelOverlap: true,
          data: d.names.map(function (name, i) { return { name: name, value: d.values[i] }; })
        }]
      };
    },
    heat: function (d) {
      // Each cell is [x, y, colour, value]: the colour is on the measure's worst (0, red)
      // to best (100, green) scale, so a high 返工率 is red; the label shows the value.
      var shown = function (p) { return p.value[3].toFixed(2); };
      return {
        tooltip: {
          position: "top",
          formatter: function (p) {
            return d.units[p.value[1]] + " · " + d.measures[p.value[0]] + "：" + shown(p) +
              (d.lower_is_better[p.value[0]] ? "（越低越好）" : "");
          }
        },
        // The colour scale sits below the rotated measure names (containLabel keeps them in the grid).
        grid: { left: 8, right: 20, top: 10, bottom: 56, containLabel: true },
        xAxis: { type: "category", data: d.measures, splitArea: { show: true }, axisLabel: { interval: 0, rotate: 30 } },
        yAxis: { type: "category", data: d.units, splitArea: { show: true }, axisLabel: { width: 150, overflow: "truncate" } },
        visualMap: { min: 0, max: 100, dimension: 2, calculable: true, orient: "horizontal", left: "center", bottom: 0,
                     itemHeight: 80, text: ["好", "差"], inRange: { color: ["#c8102e", "#fef0c7", "#2e7d32"] } },
        series: [{ type: "heatmap", data: d.cells.filter(function (c) { return c[2] !== null; }),
                   label: { show: d.units.length <= 20, formatter: shown } }]
      };
    }
  };

  var charts = [];
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var name = el.getAttribute("data-chart");
    var d = data[name];
    if (!d || !builders[name]) { return; }
    var empty = (d.units && d.units.length === 0) || (d.names && d.names.length === 0);
    if (empty) { el.textContent = "暂无数据。"; el.classList.add("muted"); el.style.height = "auto"; return; }
    if (d.units && (name === "heat" || name === "ranking")) {
      el.style.height = Math.max(260, d.units.length * 24 + 90) + "px";
    }
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption(builders[name](d));
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
}());

/* The column chooser of a wide table (table[data-choose-columns]): the columns marked
   data-optional start hidden, every column can be shown or hidden, and the choice is
   remembered per browser (localStorage, per table). The exports keep every column. */
(function () {
  "use strict";
  var PREFIX = "gongzhi.report-columns.";

  function load(key) {
    try { return JSON.parse(window.localStorage.getItem(PREFIX + key) || "null"); } catch (e) { return null; }
  }
  function save(key, hidden) {
    try { window.localStorage.setItem(PREFIX + key, JSON.stringify(hidden)); } catch (e) { /* private mode */ }
  }

  function apply(table, hidden) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    var off = [];
    for (var i = 0; i < heads.length; i++) {
      var shown = hidden.indexOf(heads[i].getAttribute("data-col")) < 0;
      heads[i].hidden = !shown;
      if (!shown) { off.push(i); }
    }
    var rows = table.tBodies[0] ? table.tBodies[0].rows : [];
    for (var r = 0; r < rows.length; r++) {
      var cells = rows[r].cells;
      if (cells.length !== heads.length) { continue; }  // the "no data" row
      for (var c = 0; c < cells.length; c++) { cells[c].hidden = off.indexOf(c) >= 0; }
    }
  }

  document.querySelectorAll("table[data-choose-columns]").forEach(function (table) {
    var key = table.getAttribute("data-choose-columns");
    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var hidden = load(key);
    if (!Array.isArray(hidden)) {
      hidden = heads.filter(function (th) { return th.hasAttribute("data-optional"); })
        .map(function (th) { return th.getAttribute("data-col"); });
    }
    var chooser = document.createElement("details");
    chooser.className = "column-chooser";
    chooser.setAttribute("data-columns-for", key);
    var summary = document.createElement("summary");
    summary.textContent = "选择列";
    chooser.appendChild(summary);
    var box = document.createElement("div");
    box.className = "column-options";
    heads.forEach(function (th) {
      var col = th.getAttribute("data-col");
      if (col === "unit_name") { return; }  // the unit is always shown
      var label = document.createElement("label");
      label.className = "check";
      var input = document.createElement("input");
      input.type = "checkbox";
      input.value = col;
      input.checked = hidden.indexOf(col) < 0;
      input.addEventListener("change", function () {
        hidden = hidden.filter(function (h) { return h !== col; });
        if (!input.checked) { hidden.push(col); }
        save(key, hidden);
        apply(table, hidden);
      });
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + th.textContent.replace(/[▲▼]/g, "").trim()));
      box.appendChild(label);
    });
    var note = document.createElement("p");
    note.className = "hint";
    note.textContent = "导出的 CSV 和 Excel 包含全部列。";
    box.appendChild(note);
    chooser.appendChild(box);
    var wrap = table.closest(".table-wrap") || table;
    wrap.parentNode.insertBefore(chooser, wrap);
    apply(table, hidden);
  });
}());
