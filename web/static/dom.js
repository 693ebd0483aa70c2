// What the page scripts share: making an element whose text is set as text (textContent), never parsed as HTML.
"use strict";

window.qaEl = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};
