// Example of the config.js the project writes next to index.html when it uploads the site.
// Do not upload this file as config.js by hand: the workbook generates the real one from the
// outputs of the modules you have deployed. Contract: see the comment at the top of js/app.js.
// This example is the site as module 2 would leave it (the API is up, later modules are not).
// Each later feature switches on by itself once its endpoint is filled in.
window.MYSFITS_CONFIG = {
  stage: 2,                                   // workshop module that last deployed the site
  mysfitsApiEndpoint: "http://127.0.0.1:4510", // module 2+: mysfits API base URL, no trailing slash
  awsRegion: "us-east-1",
  cognitoUserPoolId: null,                    // module 4+
  cognitoUserPoolClientId: null,
  cognitoEndpoint: null,                      //   user-pool JSON API: the local cloud's edge
                                              //   or cognito-idp.<region>.amazonaws.com
  cognitoPasswordPolicy: null,                //   optional, e.g. {minimumLength: 8,
                                              //   requireUppercase: true, requireLowercase: true,
                                              //   requireNumbers: true, requireSymbols: true}
  streamingApiEndpoint: null,                 // module 5+: click tracking, PUT {base}/clicks
  questionsApiEndpoint: null,                 // module 6+: "Contact us", POST {base}/questions
  recommendationsApiEndpoint: null            // module 7+: "Find your mysfit",
                                              //   POST {base}/recommendations
};
