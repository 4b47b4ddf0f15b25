// The dashboard's charts of the last hour (GET /stats/history), drawn by
// uPlot, which the service serves from its npm package. Each chart's uPlot
// instance is its element's `uplot` property, so what a chart was last given
// to draw is `element.uplot.data` (the dashboard test compares it with the
// API's answer). Colors come from the page's CSS variables. Dead letters are
// stacked bars, one band per class: lines of classes with the same counts
// would hide one another.
import uPlot from '/vendor/uPlot.esm.js';

const HEIGHT = 200;
const CLASS_COLORS = { invalid: '--invalid', 'retries-exhausted': '--retries', undecodable: '--undecodable' };

const money = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD' });
const cssColor = (variable) => getComputedStyle(document.documentElement).getPropertyValue(variable).trim();
/** uPlot's time axis is in seconds. */
const seconds = (times) => times.map((time) => Date.parse(time) / 1000);

/**
 * The first value of each run after nulls, drawn as a point: it marks where what the service knows begins, and a
 * run of a bucket or two draws too short a line to see.
 */
function runStarts(plot, seriesIdx) {
  const values = plot.data[seriesIdx];
  const points = values.flatMap((value, i) => (value !== null && values[i - 1] == null ? [i] : []));
  return points.length > 0 ? points : null;
}

function line(label, variable) {
  const color = cssColor(variable);
  return { label, stroke: color, width: 2, points: { show: false, size: 7, fill: color, filter: runStarts } };
}
const bars = uPlot.paths.bars({ size: [0.8, 24] });

/**
 * Per class, the sum of its counts and those of the classes before it, largest first: drawn in that order, each
 * bar covers all but the top band of the one before, so each class shows as its own band of a minute's bar.
 */
function stackedBars(classes, byFailureClass) {
  let running = classes.length === 0 ? [] : byFailureClass[classes[0]].map(() => 0);
  const sums = classes.map((name) => {
    running = running.map((sum, i) => sum + byFailureClass[name][i]);
    return { label: name, counts: running };
  });
  return sums.reverse();
}

/** Counts start at zero; the other scales fit the data (uPlot's default). */
const fromZero = (_plot, min, max) => [0, Math.max(min ?? 0, max ?? 0) * 1.1 || 1];

/** Draws `data` into `element`; a chart whose series changed (a failure class appeared) is made anew. */
function draw(element, series, data, { counts = true, yValues } = {}) {
  const labels = JSON.stringify(series.map(({ label }) => label));
  if (element.uplot !== undefined && element.uplotLabels === labels) {
    element.uplot.setData(data);
    return;
  }
  element.uplot?.destroy();
  element.uplotLabels = labels;
  element.uplot = new uPlot(
    {
      width: element.clientWidth,
      height: HEIGHT,
      series: [{}, ...series],
      scales: counts ? { y: { range: fromZero } } : {},
      axes: [{}, yValues ? { size: 80, values: yValues } : { size: 50 }],
      // The legend names the series; the axes give the values.
      legend: { live: false },
    },
    data,
    element,
  );
}

export function renderCharts(history) {
  const { deadLetters, orders } = history;
  const stack = stackedBars(Object.keys(deadLetters.byFailureClass), deadLetters.byFailureClass);
  draw(
    document.getElementById('chart-dead-letters'),
    stack.map(({ label }) => {
      const color = cssColor(CLASS_COLORS[label] ?? '--muted');
      return { label, stroke: color, fill: color, width: 0, paths: bars, points: { show: false } };
    }),
    [seconds(deadLetters.minutes), ...stack.map(({ counts }) => counts)],
  );
  const times = seconds(orders.times);
  draw(document.getElementById('chart-orders'), [line('orders/s', '--accent')], [times, orders.perSecond]);
  draw(document.getElementById('chart-average'), [line('average', '--ok')], [times, orders.average], {
    counts: false,
    yValues: (_plot, splits) => splits.map((value) => money.format(value)),
  });
}

addEventListener('resize', () => {
  for (const element of document.querySelectorAll('.chart')) {
    element.uplot?.setSize({ width: element.clientWidth, height: HEIGHT });
  }
});
