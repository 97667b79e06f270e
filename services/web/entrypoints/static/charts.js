/* TMIS web: the 数据统计 page's charts. The page carries its figures in a JSON data block
   (#chart-data) and empty, hidden containers (data-chart="<id>"); this draws each with the
   vendored ECharts (vendor/echarts/, SVG renderer, Chinese locale) and shows it. Without
   JavaScript the containers stay hidden and the tables below them carry the same figures.
   No inline script or style attribute (the Content-Security-Policy allows neither). */
(function () {
  "use strict";

  function data(values) {  // ECharts draws "-" as "no figure" (unknown is not zero)
    return values.map(function (v) { return v === null ? "-" : v; });
  }

  // the page's own fonts, so ECharts measures the Chinese labels it lays out as drawn
  var FONT = '"Noto Sans CJK SC","Microsoft YaHei","PingFang SC","WenQuanYi Micro Hei",sans-serif';

  function base(c) {
    return {
      animation: false,
      aria: { enabled: true },
      textStyle: { fontFamily: FONT },
      title: { text: c.title, left: "center", top: 4, textStyle: { fontSize: 15 },
               subtext: c.unknown ? "尚无年报数据，录入率未知" : "" },
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { top: c.unknown ? 54 : 34, itemGap: 18 },
      grid: { top: c.unknown ? 100 : 84, left: 16, right: 32, bottom: 16, containLabel: true }
    };
  }

  function rates(c) {  // horizontal bars: long lists of county names read down the page
    var o = base(c);
    o.xAxis = { type: "value", name: "%", axisLabel: { formatter: "{value}%" } };
    o.yAxis = { type: "category", data: c.labels, inverse: true,
                axisLabel: { interval: 0 } };
    o.series = c.series.map(function (s) {
      return { name: s.name, type: "bar", data: data(s.values), barMaxWidth: 14 };
    });
    return o;
  }

  function twoAxes(c, type) {
    var o = base(c);
    o.xAxis = { type: "category", data: c.labels, axisLabel: { interval: 0 } };
    o.yAxis = c.axes.map(function (name) { return { type: "value", name: name }; });
    o.series = c.series.map(function (s) {
      var one = { name: s.name, type: type, yAxisIndex: s.axis, data: data(s.values) };
      if (type === "line") { one.connectNulls = true; one.symbolSize = 7; }
      else { one.barMaxWidth = 24; }
      return one;
    });
    return o;
  }

  var OPTIONS = {
    rates: rates,
    stages: function (c) { return twoAxes(c, "bar"); },
    progress: function (c) { return twoAxes(c, "line"); }
  };

  function draw() {
    var block = document.getElementById("chart-data");
    if (!block || !window.echarts) return;
    var charts = JSON.parse(block.textContent);
    var drawn = [];
    var boxes = document.querySelectorAll("[data-chart]");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      var c = charts[box.getAttribute("data-chart")];
      if (!c || !OPTIONS[c.kind]) continue;
      box.hidden = false;
      if (c.kind === "rates" && c.labels.length > 12) {
        box.style.height = (c.labels.length * 24 + 110) + "px";
      }
      var chart = window.echarts.init(box, null, { renderer: "svg", locale: "ZH" });
      chart.setOption(OPTIONS[c.kind](c));
      box.setAttribute("data-drawn", "true");
      drawn.push(chart);
    }
    window.addEventListener("resize", function () {
      for (var j = 0; j < drawn.length; j++) drawn[j].resize();
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
