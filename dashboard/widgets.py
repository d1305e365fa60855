"""A small ECharts widget for the page.

Solara's ``FigureEcharts`` can be sent a new option before ECharts has loaded, which throws
in the browser while the page is still starting. This one keeps the latest option and draws
it once ECharts is there, resizes with its container, and counts its redraws in the
``data-renders`` attribute (the browser test watches that). ECharts comes from the same local
asset folder Solara uses (``solara-assets``), never from the internet.
"""

from __future__ import annotations

import ipyvuetify
import solara
import traitlets

TEMPLATE = """
<template>
  <div ref="chart" v-bind="attributes" :data-renders="renders"></div>
</template>
<script>
module.exports = {
  data() { return { renders: 0 }; },
  mounted() {
    const cdn = (window.solara && window.solara.cdn) || "./_solara/cdn";
    if (!window.ciEcharts) {
      const requireReady = window.requirejs ? Promise.resolve() : new Promise((ok, fail) => {
        const script = document.createElement("script");
        script.src = `${cdn}/requirejs@2.3.6/require.js`;
        script.onload = ok;
        script.onerror = fail;
        document.head.appendChild(script);
      });
      window.ciEcharts = requireReady.then(() => new Promise((ok) =>
        window.requirejs([`${cdn}/echarts@5.4.0/dist/echarts.js`], ok)));
    }
    window.ciEcharts.then((echarts) => {
      if (this.gone) return;
      this.chart = echarts.init(this.$refs.chart);
      this.draw();
      // After a resize, draw afresh: ECharts misplaces end labels that sit on the plot's
      // edge when it only rescales them.
      this.observer = new ResizeObserver(() => {
        if (!this.chart) return;
        this.chart.resize();
        this.chart.setOption(this.fresh(), true);
      });
      this.observer.observe(this.$refs.chart);
    });
  },
  beforeDestroy() {
    this.gone = true;
    if (this.observer) this.observer.disconnect();
    if (this.chart) this.chart.dispose();
  },
  watch: {
    option() { this.draw(); },
  },
  methods: {
    draw() {
      if (!this.chart) return;  // not loaded yet: mounted() draws the latest option
      this.chart.setOption(this.fresh(), true);
      this.renders += 1;
    },
    fresh() {
      // A plain copy: ECharts keeps and changes what it is given, and this.option is
      // watched by Vue.
      return JSON.parse(JSON.stringify(this.option));
    },
  },
};
</script>
"""


class EchartsWidget(ipyvuetify.VuetifyTemplate):
    template = traitlets.Unicode(TEMPLATE).tag(sync=True)
    option = traitlets.Any({}).tag(sync=True)
    attributes = traitlets.Dict({}).tag(sync=True)


@solara.component
def Echarts(option: dict, attributes: dict | None = None):
    return EchartsWidget.element(option=option, attributes=attributes or {})
