require('dotenv').config();
require ( "dotenv/config" );
const name = "dotenv"; // a string, not a load
// require('dotenv') in a comment is fine
