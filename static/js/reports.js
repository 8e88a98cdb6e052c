/* Draws the report charts with the vendored ECharts from the JSON the page embeds
   (#report-charts): each <div class="chart" data-chart="NAME"> gets chart NAME. */
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
        legend: { data: ["响应率", "解决率", "满意率", "综合得分"] },
        grid: { left: 40, right: 16, bottom: 30, top: 40 },
        xAxis: { type: "category", data: d.months },
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
        grid: { left: 120, right: 40, bottom: 20, top: 10 },
        xAxis: { type: "value", min: 0, max: 100 },
        yAxis: { type: "category", data: d.units, axisLabel: { width: 110, overflow: "truncate" } },
        series: [{ type: "bar", data: d.values, itemStyle: { color: red }, label: { show: true, position: "right" } }]
      };
    },
    categories: function (d) {
      return {
        tooltip: { trigger: "item" },
        series: [{
          type: "pie", radius: ["35%", "65%"],
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
        grid: { left: 120, right: 20, top: 10, bottom: 70 },
        xAxis: { type: "category", data: d.measures, splitArea: { show: true }, axisLabel: { interval: 0, rotate: 30 } },
        yAxis: { type: "category", data: d.units, splitArea: { show: true }, axisLabel: { width: 110, overflow: "truncate" } },
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
