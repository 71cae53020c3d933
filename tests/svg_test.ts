/** bench/svg.ts: well-formed SVG, escaped text, finite numbers, bars proportional to values. */

import { type BarChart, barChart, escapeXml, niceAxis, svgDocument } from "../bench/svg.ts";
import { assert, assertEquals } from "./assert.ts";

/** An element as parsed: name, attributes, and the text directly inside it. */
interface Element {
  name: string;
  attributes: Record<string, string>;
  text: string;
}

const ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
};

/** Replaces the five XML entities; throws on a bare `&` or an unknown entity. */
function unescape(text: string): string {
  return text.replace(/&([^;\s]*);?/g, (whole, name: string) => {
    if (!whole.endsWith(";") || !(name in ENTITIES)) throw new Error(`bad entity: ${whole}`);
    return ENTITIES[name];
  });
}

/**
 * A strict little XML reader for what the writer emits: an optional XML
 * declaration, then one root element; every opened tag closed in order,
 * attributes quoted and unique, no `<` or bare `&` in text. Returns every
 * element in document order.
 */
function parseXml(xml: string): Element[] {
  const elements: Element[] = [];
  const open: Element[] = [];
  let rest = xml.replace(/^<\?xml [^?]*\?>\s*/, "");
  let roots = 0;
  while (rest.length > 0) {
    const lt = rest.indexOf("<");
    const text = lt < 0 ? rest : rest.slice(0, lt);
    if (text.includes(">")) throw new Error(`stray '>' in text: ${text}`);
    if (text.trim() !== "") {
      if (open.length === 0) throw new Error(`text outside the root: ${text}`);
      open[open.length - 1].text += unescape(text);
    }
    if (lt < 0) break;
    const gt = rest.indexOf(">", lt);
    if (gt < 0) throw new Error("unterminated tag");
    const tag = rest.slice(lt + 1, gt);
    rest = rest.slice(gt + 1);
    if (tag.startsWith("/")) {
      const name = tag.slice(1).trim();
      const top = open.pop();
      if (top?.name !== name) throw new Error(`</${name}> closes <${top?.name}>`);
      continue;
    }
    const selfClosing = tag.endsWith("/");
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const match = /^([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*$/.exec(body);
    if (!match) throw new Error(`malformed tag: <${tag}>`);
    const attributes: Record<string, string> = {};
    for (const [, key, value] of match[2].matchAll(/([\w:-]+)="([^"]*)"/g)) {
      if (key in attributes) throw new Error(`attribute ${key} twice in <${tag}>`);
      attributes[key] = unescape(value);
    }
    if (open.length === 0 && ++roots > 1) throw new Error("more than one root element");
    const element = { name: match[1], attributes, text: "" };
    elements.push(element);
    if (!selfClosing) open.push(element);
  }
  if (open.length > 0) throw new Error(`<${open[open.length - 1].name}> never closed`);
  return elements;
}

const NUMERIC = ["x", "y", "width", "height", "x1", "y1", "x2", "y2"];

/** Asserts every geometric attribute of every element is a finite number. */
function assertFiniteNumbers(elements: Element[]): void {
  for (const e of elements) {
    for (const key of NUMERIC) {
      if (key in e.attributes) {
        const value = Number(e.attributes[key]);
        assert(Number.isFinite(value), `<${e.name} ${key}="${e.attributes[key]}">`);
      }
    }
  }
}

const AWKWARD = `a <b> & "c" 'd' </svg>`;

const CHART: BarChart = {
  title: `Throughput ${AWKWARD}`,
  unit: "MB/s",
  groups: [
    {
      heading: "stages",
      bars: [{ label: "one", value: 100 }, { label: AWKWARD, value: 25 }, {
        label: "three",
        value: 250,
      }],
    },
    { heading: "not measured", bars: [{ label: "nan", value: NaN }, { label: "neg", value: -1 }] },
    { heading: "end to end", bars: [{ label: "zero", value: 0 }, { label: "e2e", value: 80 }] },
  ],
};

Deno.test("svg: the document is well-formed, its numbers finite and its text escaped", () => {
  const svg = svgDocument(`title ${AWKWARD}`, [CHART], [`footer ${AWKWARD}`]);
  const elements = parseXml(svg);
  assertEquals(elements[0].name, "svg");
  assertEquals(elements[0].attributes.xmlns, "http://www.w3.org/2000/svg");
  assertFiniteNumbers(elements);
  const texts = elements.filter((e) => e.name === "text").map((e) => e.text);
  // The awkward strings come back intact once unescaped: title, label, footer.
  assert(texts.includes(`title ${AWKWARD}`), "document title");
  assert(texts.includes(`Throughput ${AWKWARD}`), "chart title");
  assert(texts.includes(AWKWARD), "bar label");
  assert(texts.includes(`footer ${AWKWARD}`), "footer");
  assert(!svg.includes("</svg>\n</svg>") && svg.trimEnd().endsWith("</svg>"));
});

Deno.test("svg: bar lengths are proportional to the values, on a nice axis", () => {
  const elements = parseXml(`<svg>${barChart(CHART)}</svg>`);
  const bars = elements.filter((e) => e.name === "rect");
  const labels = elements.filter((e) => e.name === "text" && e.attributes.class === "label")
    .map((e) => e.text);
  // Unmeasured bars (NaN, negative) and their now-empty group are left out.
  assertEquals(labels, ["one", AWKWARD, "three", "zero", "e2e"]);
  assert(!elements.some((e) => e.text === "not measured"), "empty group left out");
  const widths = bars.map((b) => Number(b.attributes.width));
  const values = [100, 25, 250, 0, 80];
  const scale = widths[0] / values[0];
  assert(scale > 0, "bars have length");
  values.forEach((v, i) => {
    assert(Math.abs(widths[i] - v * scale) <= 0.02, `bar ${i}: ${widths[i]} vs ${v * scale}`);
  });
  // All bars start at the axis, and the longest stays within the document width.
  assert(bars.every((b) => b.attributes.x === bars[0].attributes.x), "common origin");
  assert(Number(bars[0].attributes.x) + Math.max(...widths) <= 900);
  // The value printed at the end of each bar is its value.
  const printed = elements.filter((e) => e.attributes.class === "value").map((e) => e.text);
  assertEquals(printed, ["100.0", "25.0", "250.0", "0.0", "80.0"]);
  // The axis ends at 250 (a multiple of a 1-2-5 step ≥ the largest value): that bar fills the plot.
  const ticks = elements.filter((e) => e.attributes.class === "tick").map((e) => Number(e.text));
  assertEquals(ticks[ticks.length - 1], 250);
  assertEquals(ticks[0], 0);
});

Deno.test("svg: niceAxis covers the maximum with 1-2-5 steps", () => {
  for (const max of [0.3, 1, 7, 42, 99.9, 100, 151.2, 1e6 + 1]) {
    const { end, step } = niceAxis(max);
    assert(end >= max && end - step < max, `${max}: end ${end}, step ${step}`);
    const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
    assert([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-9), `step ${step}`);
    assert(end / step <= 8 + 1e-9, `${max}: ${end / step} ticks`);
  }
  assertEquals(niceAxis(0), { end: 1, step: 0.2 });
  assertEquals(niceAxis(NaN), { end: 1, step: 0.2 });
});

Deno.test("svg: charts with nothing measured are left out of the document", () => {
  const empty: BarChart = {
    title: "CPU budget",
    unit: "s",
    groups: [{ heading: "client", bars: [{ label: "put", value: NaN }] }],
  };
  const svg = svgDocument("run", [CHART, empty]);
  const elements = parseXml(svg);
  assert(!elements.some((e) => e.text === "CPU budget"), "the empty chart is not drawn");
  assertEquals(elements.filter((e) => e.attributes.class === "chart").length, 1);
  assertEquals(escapeXml(`<&>"'`), "&lt;&amp;&gt;&quot;&apos;");
});

Deno.test("svg: bars beyond the chart's limit are cut at the axis end, marked, value printed", () => {
  const chart: BarChart = {
    title: "limited",
    unit: "MB/s",
    limit: 100,
    groups: [{
      heading: "g",
      bars: [{ label: "half", value: 50 }, { label: "huge", value: 4000 }],
    }],
  };
  const elements = parseXml(`<svg>${barChart(chart)}</svg>`);
  assertFiniteNumbers(elements);
  const widths = elements.filter((e) => e.name === "rect").map((e) => Number(e.attributes.width));
  assertEquals(widths[1], 2 * widths[0]); // axis ends at 100: the cut bar fills the plot
  assertEquals(elements.filter((e) => e.attributes.class === "break").length, 1);
  const printed = elements.filter((e) => e.attributes.class === "value").map((e) => e.text);
  assertEquals(printed, ["50.0", "4000.0"]);
});
