// Show the cited passage: the #cited link already scrolls to it (see scroll-margin in style.css); a link
// without the fragment is centred here. Focus moves to it for keyboard and screen-reader users.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const cited = document.getElementById("cited");
  if (!cited) return;
  if (window.location.hash !== "#cited") cited.scrollIntoView({ block: "center" });
  cited.focus({ preventScroll: true });
});
