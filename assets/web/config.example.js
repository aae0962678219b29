// Example of the config.js the project writes next to index.html when it uploads the site.
// Do not upload this file as config.js by hand: the workbook generates the real one from the
// outputs of the modules you have deployed. Contract: see the comment at the top of js/app.js.
// This example is the site as module 2 would leave it (the API is up, later modules are not).
window.MYSFITS_CONFIG = {
  stage: 2,                                   // workshop module that last deployed the site
  mysfitsApiEndpoint: "http://127.0.0.1:4510", // module 2+: mysfits API base URL, no trailing slash
  awsRegion: "us-east-1",
  cognitoUserPoolId: null,                    // module 4+
  cognitoUserPoolClientId: null,
  cognitoEndpoint: null,
  streamingApiEndpoint: null,                 // module 5+
  questionsApiEndpoint: null,                 // module 6+
  recommendationsApiEndpoint: null            // module 7+
};
