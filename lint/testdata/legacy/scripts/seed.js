// Outside the feature folder: not linted.
require("dotenv").config();
