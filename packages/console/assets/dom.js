/**
 * A tiny DOM builder: h("button", { class: "primary", onclick }, "Save").
 * Text is always set as text (never parsed as HTML), so data from the API
 * cannot inject markup.
 */

const SVG_NS = "http://www.w3.org/2000/svg"

/** Appends children, skipping null, undefined and false (the DOM's own append would write "null"). */
export const append = (parent, ...children) => {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    if (Array.isArray(child)) append(parent, ...child)
    else parent.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
}

const setAttributes = (element, attributes) => {
  for (const [key, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue
    if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2), value)
    } else if (key === "dataset") {
      Object.assign(element.dataset, value)
    } else if (key === "value" && "value" in element) {
      element.value = value
    } else {
      element.setAttribute(key, value === true ? "" : String(value))
    }
  }
}

/** An HTML element with attributes (event handlers as `on<event>`) and children. */
export const h = (tag, attributes, ...children) => {
  const element = document.createElement(tag)
  setAttributes(element, attributes)
  append(element, ...children)
  return element
}

/** An SVG element, for charts. */
export const s = (tag, attributes, ...children) => {
  const element = document.createElementNS(SVG_NS, tag)
  setAttributes(element, attributes)
  append(element, ...children)
  return element
}

/** Replaces every child of `parent`. */
export const replace = (parent, ...children) => {
  parent.replaceChildren()
  append(parent, ...children)
  return parent
}
